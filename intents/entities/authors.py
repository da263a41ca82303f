"""Authors: 作者是X, X写的, X的《Y》, X的书, a name next to a title, and 「X的Y」 (余华的活着
还能借吗), which also gives the title Y."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from intents.entities.spans import _STOP, _entity, _fold, _original
from intents.entities.titles import _GENERIC_BOOK, _LEAD, _NOT_TITLE

# What stands before 「的书」 or 「的《…》」 but is no name: places, times, people in general,
# subjects and descriptions. Single characters are only refused where names rarely have them
# (first or last), so 钱钟书, 罗贯中 and 村上春树 stay names.
_NOT_NAME = re.compile(
    r"图书馆|馆里|馆内|学校|我们|你们|他们|她们|大家|自己|别人|今天|明天|后天|昨天|"
    r"周[一二三四五六日天末]|星期|礼拜|上午|下午|晚上|早上|中午|最近|好看|有趣|经典|热门|推荐|"
    r"什么|老师|同学|室友|朋友|学生|关于|有关|适合|相关|方面|专业|考研|英语|数学|历史|文学|心理|"
    r"医学|法律|经济|计算机|哲学|社会|科普|入门|教材|外文|中文|英文|原版|电子|纸质|治愈|励志|"
    r"放松|焦虑|失眠|抑郁|孤独|失恋|压力|睡前|一些|荐购|采购|预约|预定|预订|靠窗|书单|图书|丛书|"
    r"书籍|参考书|西瓜书|小说|作品|哪|怎么|是不是|可以|能不能|有没有|期刊|杂志|报纸|作者|书名|"
    r"出版社|原著|译者|购买|建议|"
    r"[楼层室座版课类系题册科]|"
    r"^[这那哪谁我你他她它借查找看买要想有是在和与跟或还及被放第全注索可能的几些一新旧每某各该本不]|"
    r"[的学里上下些吗呢吧了么写著看找借查要想到]$"
)
_NAME_CHARS = re.compile(r"^[\u4e00-\u9fffa-z·•．. \-]{2,12}$")
_OF_TITLE = re.compile(r"(?P<a>[^\s《》" + _STOP + r"]{1,20})的\s*《")
_AUTHOR_IS = re.compile(
    r"作者(?:是|为|叫|叫做|查)?\s*[:：]?\s*(?P<a>[^\s的《" + _STOP + r"]{1,20}"
    r"(?:\s+[a-z][^\s的《" + _STOP + r"]*)*)"
)
_WROTE = re.compile(r"(?P<a>[^\s《》" + _STOP + r"]{1,20})(?:写的|著的|所著)")
_OF_BOOKS = re.compile(
    r"(?P<a>[^\s《》"
    + _STOP
    + r"]{1,20})的(?:书|作品|小说|著作|新书|诗集|散文|文集|全集|书籍|其他书)"
)
# 「余华的活着还能借吗」: an author, then an unbracketed title that is asked about.
_OF_THEN_ASKED = re.compile(
    r"(?P<a>[^\s《》"
    + _STOP
    + r"]{1,20})的(?P<t>[^\s《》的还有在能可借被是吗呢"
    + _STOP
    + r"]{2,15}?)"
    r"(?=还能借|能借|可以借|能不能借|还有|有吗|有没有|在几楼|在哪|在馆|在架|借出|被借|还在吗)"
)
_NAME_AFTER_TITLE = re.compile(
    r"》\s*(?P<a>[\u4e00-\u9fff·]{2,8}?)(?=\s|$|["
    + _STOP
    + r"]|有吗|有没有|还有|在哪|在几|能借|可以借)"
)
_NAME_BEFORE_TITLE = re.compile(r"(?:^|(?<=[\s" + _STOP + r"]))(?P<a>[\u4e00-\u9fff·]{2,8})\s*《")
_BY_AFTER_TITLE = re.compile(r"》\s*by\s+(?P<a>[a-z][a-z.\-']*(?:\s+[a-z][a-z.\-']*){0,2})\s*$")
_TRAILING_AUTHOR = re.compile(r"(?:^|(?<=\s))(?P<a>[\u4e00-\u9fff·]{2,8})的\s*$")
_HONORIFIC = re.compile(r"(?:先生|老师|教授|女士|大师)$")


# Where nothing but 「的」 marks a name (「刘慈欣的书」, 「余华的活着还能借吗」), the name must also
# look like one: a common Chinese surname, a Japanese family name, a transliteration, or a
# name with 「·」. Subjects (「阅读疗法的书」) and descriptions (「让人平静下来的书」) do not.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵钱严覃武戴莫孔汤施牛樊葛邢乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳祝舒阮柯纪梅童凌毕"
    "季裴霍涂苗谷盛曲翁冉骆蓝路辛靳柴蒙鲍喻祁蒲房滕屈饶解牟尤穆卓古吉缪简项芦麦褚娄窦戚岑景"
    "费卜晏席卫柏宗瞿桂佟臧闵苟邬卞姬栾隋刁巫寇桑郎甄丛虞敖巩佘池麻苑迟邝匡鞠荆冀郁胥储栗楚"
    "鄢劳谌奚粟冼蔺闻厉仝郜阚权帅屠朴廉禹祖漆巴卿狄晋扈晁芮阙浦戈伏鹿薄邸雍辜羊裘亓邰赫杭况"
    "诸慕亢嵇湛戎茅揭尉冶檀昝衡尧萧濮"
)
_COMPOUND_SURNAMES = re.compile(
    r"^(?:欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|令狐|司徒|夏侯|端木)"
)
_JAPANESE_SURNAMES = re.compile(
    r"^(?:村上|东野|太宰|川端|渡边|宫部|芥川|夏目|三岛|江户川|伊坂|凑|松本|岸见|宫崎|吉本|"
    r"是枝|山田|大江|横沟|京极|石黑|乙一|青山|黑柳|紫式部|清少纳言|小川|角田|有川|住野)"
)
_TRANSLITERATION = set(
    "斯尔克特夫卡拉德姆罗尼亚利伊奥格森蒙布菲丝娃娜萨基维耶塔列雅加缪黑塞莎莉琳妮娅贝蒂兰里诺托"
    "茨柯洛波普赫勒福瑟希米汉佩索泰戈纳莱艾玛东奇契诃陀妥迪霍桑海明威乔治叔本华歌果理巴雨果"
)


def _plausible_name(name: str) -> bool:
    return bool(_NAME_CHARS.match(name)) and not _NOT_NAME.search(name)


def _looks_like_name(name: str) -> bool:
    if not _plausible_name(name):
        return False
    if "·" in name or "•" in name or name.isascii():
        return True
    if _COMPOUND_SURNAMES.match(name) or _JAPANESE_SURNAMES.match(name):
        return True
    if name[0] in _SURNAMES and 2 <= len(name) <= 4:
        return True
    return len(name) >= 2 and sum(c in _TRANSLITERATION for c in name) * 3 >= len(name) * 2


def _authors(text: str, folded: str, has_title: bool) -> Iterator[dict[str, Any]]:
    def clean(start: int, end: int, strict: bool) -> dict[str, Any] | None:
        lead = _LEAD.match(folded, start, end)
        if lead:
            start = lead.end()
        # 「三体是刘慈欣写的」: the name is what follows the last 是.
        copula = folded.rfind("是", start, end)
        if copula >= 0:
            start = copula + 1
        honorific = _HONORIFIC.search(folded, start, end)
        if honorific and honorific.start() - start >= 2:
            end = honorific.start()
        value, start, end = _original(text, start, end)
        check = _looks_like_name if strict else _plausible_name
        if not check(_fold(value)):
            return None
        return _entity("author", value, start, end)

    # Explicit cues (作者是, 写的, X的《Y》) need only a plausible name; a bare 「的」 or a
    # name right next to a title (《围城》 钱钟书, not 《深度学习》花书) must look like one.
    patterns = [
        (_OF_TITLE, False),
        (_AUTHOR_IS, False),
        (_WROTE, False),
        (_NAME_AFTER_TITLE, True),
        (_NAME_BEFORE_TITLE, True),
        (_BY_AFTER_TITLE, False),
        (_OF_BOOKS, True),
        (_OF_THEN_ASKED, True),
    ]
    if has_title:
        patterns.append((_TRAILING_AUTHOR, True))  # 「图书馆有活着这本书吗 余华的」
    for pattern, strict in patterns:
        for match in pattern.finditer(folded):
            found = clean(*match.span("a"), strict)
            if found:
                yield found


def _asked_titles(text: str, folded: str) -> Iterator[tuple[dict[str, Any], tuple[int, int]]]:
    for match in _OF_THEN_ASKED.finditer(folded):
        author = match.group("a")
        lead = _LEAD.match(author)
        if lead:
            author = author[lead.end() :]
        if not _looks_like_name(author):
            continue
        start, end = match.span("t")
        value, start, end = _original(text, start, end)
        if value and not _GENERIC_BOOK.match(value) and not _NOT_TITLE.match(value):
            yield _entity("title", value, start, end), (start, end)
