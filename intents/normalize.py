"""Text as the classifier sees it: one width, one case, simplified characters, no noise.

Readers type full-width digits, traditional characters (from Hong Kong/Taiwan keyboards or
habit), emoji and runs of punctuation. The classifier learns from character n-grams, so these
variants would each look new; folding them here lets a few hundred examples cover them.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional → simplified for the characters library chat actually uses: one character for
# one character, so offsets into the text survive folding (safety and entities use it too).
# A table, not a converter library: str.translate is microseconds, the vocabulary small.
_TRADITIONAL = (
    "圖图書书館馆預预約约開开門门閉闭時时間间點点麼么嗎吗們们這这個个討讨論论樓楼層层會会議议員员號号簽签離离暫暂還还記记錄录"
    "請请問问題题訂订閱阅報报講讲參参與与讀读療疗愛爱難难過过憂忧鬱郁慮虑睏困無无獨独壓压態态說说話话覺觉夢梦幫帮謝谢對对沒没"
    "關关係系買买薦荐購购覽览電电廳厅場场導导師师殺杀傷伤絕绝輕轻體体隨随機机後后來来當当為为裡里邊边氣气課课級级學学習习試试"
    "週周幾几雙双歲岁萬万億亿兩两長长鐘钟頭头鬧闹熱热餓饿見见聽听寫写誰谁歡欢樂乐聲声燈灯靜静環环網网絡络線线應应該该從从進进"
    "運运動动華华實实驗验廣广區区數数據据畫画劃划錯错誤误結结東东義义遺遗脫脱藥药別别樣样斷断給给燒烧車车軌轨撐撑讓让尋寻盡尽"
    "種种夠够厭厌殘残懸悬樑梁橋桥淚泪醫医嚇吓煩烦捲卷滅灭鬆松負负擔担幹干腦脑著着臥卧農农於于膩腻頂顶臺台兒儿貓猫媽妈決决遠远"
    "辦办價价賣卖減减妳你勁劲顆颗劑剂繩绳墜坠處处緊紧張张亂乱乾干騙骗廢废嗚呜疊叠倆俩終终獄狱麥麦囉啰嚕噜陽阳淺浅嘆叹單单適适"
    "喪丧訓训練练檢检賽赛競竞際际戀恋親亲組组識识懼惧碼码冊册劇剧視视頻频專专業业總总節节嚴严孫孙陳陈劉刘趙赵楊杨黃黄魯鲁錢钱"
    "濤涛羅罗馬马龍龙鳳凤獻献鎮镇藝艺術术"
)
SIMPLIFIED = {ord(_TRADITIONAL[i]): _TRADITIONAL[i + 1] for i in range(0, len(_TRADITIONAL), 2)}
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([!！?？。.~～…,，、])\1+")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, simplified, collapsed spaces and marks."""
    text = unicodedata.normalize("NFKC", text).lower().translate(SIMPLIFIED)
    text = _REPEATS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def to_simplified(text: str) -> str:
    return text.translate(SIMPLIFIED)
