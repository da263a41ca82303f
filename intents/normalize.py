"""Text as the classifier sees it: one width, one case, simplified characters, no noise.

Readers type full-width digits, traditional characters (from Hong Kong/Taiwan keyboards or
habit), emoji and runs of punctuation. The classifier learns from character n-grams, so these
variants would each look new; folding them here lets a few hundred examples cover them.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional → simplified for the characters library chat actually uses. A table, not a
# converter library: str.translate is microseconds, and the vocabulary is small.
_TRADITIONAL = (
    "圖图書书館馆預预約约開开門门閉闭時时間间點点麼么嗎吗們们這这個个麼么"
    "討讨論论樓楼層层會会議议員员號号簽签離离暫暂還还記记錄录請请問问題题"
    "訂订閱阅報报講讲座座參参與与讀读療疗愛爱難难過过憂忧鬱郁焦焦慮虑睏困"
    "無无聊聊獨独寂寂寞寞壓压態态說说話话覺觉醒醒夢梦幫帮忙忙謝谢對对嗎吗"
    "沒没關关係系買买薦荐購购藏藏借借閱阅覽览電电影影廳厅場场館馆導导師师"
    "殺杀傷伤絕绝輕轻體体隨随機机後后來来麼么當当為为裡里邊边氣气課课級级"
    "學学習习考考試试週周幾几雙双歲岁萬万億亿兩两長长鐘钟頭头鬧闹熱热餓饿"
    "見见聽听寫写誰谁歡欢樂乐聲声燈灯靜静環环境境網网絡络線线應应該该"
    "從从進进運运動动華华實实驗验廣广區区數数據据畫画劃划錯错誤误"
)
_TABLE = {ord(_TRADITIONAL[i]): _TRADITIONAL[i + 1] for i in range(0, len(_TRADITIONAL), 2)}
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([!！?？。.~～…,，、])\1+")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, simplified, collapsed spaces and marks."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_TABLE)
    text = _REPEATS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def to_simplified(text: str) -> str:
    return text.translate(_TABLE)
