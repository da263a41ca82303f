"""Entities other than dates and times, as Rasa-style dicts: party size, resource type, ISBN,
title, author, topic (feelings) and event category.

`extract(text)` returns `{"entity", "value", "start", "end"}` dicts ordered by position, with
`start`/`end` indexing into the text as given and values normalised as intents/data/SPEC.md
says. Pure Python: no I/O; every pattern is compiled once, at import.

How it works: the text is folded (one width, lower case, simplified characters) one character
at a time, so the folded copy has the same length and every span found in it is a span of the
original. Titles are found first, because a title may say anything (《三体》, 《百年孤独》,
《三人行》): nothing else is taken from inside a title. Numbers are read with cn2an, but only
the number token itself; cn2an's whole-sentence `transform` would also rewrite 《三体》 as
《3体》.

Choices the catalogue leaves open, made here:
- Spans: a bracketed title's span includes its 《》, so that it is longer than any time the
  date extractor might read inside it (《三点半》); the value never has the brackets. Title and
  author values are the text as typed (NFKC: full-width letters folded), not simplified.
- Each (entity, value) pair is reported once, at its first mention; the evaluator compares
  sets, and a handler wants one topic, not three mentions of it.
- party_size: 「我和3个同学」 counts the speaker (4); 「我和同学」 without a number gives
  nothing. 「一个人」 gives 1 only after 我/就/只/共 (「我一个人」), so 「一个人好孤独」 stays
  quiet. 「3个座位」 and 「两个名额」 count as a party of 3 and 2. Ranges (五六个人, 十几个人)
  give nothing rather than a guess. Sizes above 500 are not party sizes.
- resource_type: a bare 座 is a seat unless part of 讲座/插座/座谈/星座/座机/在座/一座; 考研座
  and 考研自习室 are seats; a 3D影院/电影院/放映厅 is a cinema.
- isbn: a 13-digit ISBN anywhere (hyphens and spaces allowed) when stdnum says it is valid; an
  ISBN-10 only right after ISBN/书号, converted. A bare 10-digit number, a 12-digit student
  number or a phone number is never an ISBN.
- title: 《X》, 〈X〉, 书名(：/是/叫/space)X, 查书：X, …X这本书, (一本)书叫X. Unbracketed, the
  title ends at punctuation or a space before a Chinese word.
- author: X的《Y》, 作者(是/：/space)X, X写的, X的书/作品/小说, a name right next to a title
  (《围城》 钱钟书, 周志华《机器学习》), or 「X的Y」 where Y is then asked about (余华的活着
  还能借吗: also the title). Names are checked against a stop list (图书馆, 明天, 心理学,
  关于…), so 「心理学的书」 is a subject, not an author.
- topic: a keyword lexicon. Ambiguous words need context: 室友 only with a conflict word
  (吵, 矛盾, 相处, 关系…), 紧张 not after 座位/资源/名额/时间 (and 关系紧张 is relationships),
  X得慌 is an intensifier (饿得慌), not anxiety, 新生 is adaptation only in a sentence that also
  carries a feeling, 走了/没了/不在了 are grief only after a relative or a pet.
- category: 展 alone is an exhibition unless part of 发展/开展/展开/展示…; a category word inside a
  resource name (电影厅, 放映厅) is the resource, not the category.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import cn2an
from stdnum import isbn as stdnum_isbn

from intents.normalize import SIMPLIFIED

__all__ = ["chinese_number", "extract"]

# Traditional → simplified (the shared table in intents.normalize): one character for one,
# so folding keeps every offset.
_FOLD = SIMPLIFIED


def _fold(text: str) -> str:
    """Width, case and script folded, one character for one character (offsets survive)."""
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded.lower() if len(folded) == 1 else char)
    return "".join(out).translate(_FOLD)


# --- numbers ----------------------------------------------------------------------------

_CN_DIGIT_VALUE = {"两": 2, **{c: i for i, c in enumerate("〇一二三四五六七八九")}, "零": 0}
_COLLOQUIAL = {"俩": 2, "倆": 2, "仨": 3}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟廿]+")
_ASCII_NUMBER = re.compile(r"[0-9]+")


def chinese_number(token: str) -> int | None:
    """The integer a number token stands for: 「5」, 「５」, 「五」, 「十二」, 「俩」, 「二〇二六」.

    None for anything else, and for ranges written as adjacent digits (「五六」 = five or six)
    or vague counts (「十几」, 「几」). Only the token is converted, never a sentence.
    """
    token = unicodedata.normalize("NFKC", token).strip()
    if not token:
        return None
    if token in _COLLOQUIAL:
        return _COLLOQUIAL[token]
    if _ASCII_NUMBER.fullmatch(token):
        return int(token)
    if not _CN_NUMBER.fullmatch(token):
        return None
    if all(c in _CN_DIGIT_VALUE for c in token) and len(token) > 1:
        values = [_CN_DIGIT_VALUE[c] for c in token]
        if len(values) == 2 and values[1] == values[0] + 1:
            return None  # 五六个人: five or six
        if "两" in token:
            return None  # 两 is not read digit by digit (一两个: one or two)
        return int("".join(str(v) for v in values))  # 二〇二六 → 2026
    try:
        value = cn2an.cn2an(token, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


# --- entity candidates ------------------------------------------------------------------


def _entity(name: str, value: Any, start: int, end: int) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": start, "end": end}


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _original(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The original text of a span, trimmed of spaces and quotes, NFKC-normalised."""
    strip = " \t\u3000\"'“”‘’「」『』"
    while start < end and text[start] in strip:
        start += 1
    while end > start and text[end - 1] in strip:
        end -= 1
    return unicodedata.normalize("NFKC", text[start:end]), start, end


# --- titles -----------------------------------------------------------------------------

_BRACKETED = re.compile(r"《([^《》\n]+)》|〈([^〈〉\n]+)〉")
_UNCLOSED = re.compile(r"《([^《》，。！？,!?；;\n]+)$")
_STOP = r"，。！？,!?；;：:\n、"
# 书名：X / 书名是X / 书名 X ; 查书：X. The title runs to punctuation, or to a space that is
# followed by a Chinese word (an English title keeps its spaces).
_TITLE_AFTER = re.compile(
    r"(?:书名(?:是|为|叫|叫做)?|查书)\s*[:：]?\s*"
    r"(?P<t>[^\s《" + _STOP + r"][^\s" + _STOP + r"]*(?:\s+[a-z0-9][^\s" + _STOP + r"]*)*)"
)
# 「有没有X这本书」, 「查一下X这本书」, or X first in the message: the words before 这本书
# are a title only when something asks for it; 「这本书」 alone points back (「馆里没这本书」).
_THIS_BOOK = re.compile(
    r"(?:^|(?<=[\s"
    + _STOP
    + r"])|有没有|有木有|有没|查一下|查查|查下|查询|找一下|找找|想借|借一下|"
    r"想看|搜一下|搜索)(?P<t>[^\s《》" + _STOP + r"]{1,40}?)这本书"
)
_CALLED = re.compile(
    r"(?:书|一本)\s*(?:名字|的名字)?\s*叫(?:做|作)?\s*(?P<t>[^\s《》" + _STOP + r"]{1,30})"
)
# What an unbracketed title does not start or end with: 「(图书馆能不能)买这本书」,
# 「查不到这本书」.
_NOT_TITLE_EDGE = re.compile(
    r"^(?:不|没|买|进|购|荐|要|能|可以|建议|推荐|搜|借|我|你|他|她)|[买进购借查找搜到看要]$"
)
# Words that lead into a title without being part of it (查一下X这本书, 图书馆有X这本书吗).
_LEAD = re.compile(
    r"^(?:请问|你好|您好|麻烦|帮我|帮忙|请|我想|我要|想要|想|要|能不能|可不可以|可以|"
    r"图书馆|馆里|你们|这里|有没有|有木有|有没|还有|有|查一下|查查|查询|查下|查|找一下|找找|"
    r"找本|找|搜一下|搜索|搜|借一下|借阅|借|看看|看|一下|一本|一本叫|本|叫做|叫|推荐|的)+"
)
_GENERIC_BOOK = re.compile(
    r"^(?:书|作品|小说|著作|新书|诗集|散文|文集|全集|其他|那本|这本|一本|哪本)"
)
_NOT_TITLE = re.compile(r"^(?:什么|啥|哪本|哪一本|这|那|这个|那个|一|书|本)$")


def _titles(text: str, folded: str) -> list[tuple[dict[str, Any], tuple[int, int]]]:
    """(entity, claimed span) for every title; the claimed span is what others must avoid."""
    found: list[tuple[dict[str, Any], tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, claim: tuple[int, int]) -> None:
        value, start, end = _original(text, start, end)
        if not value or _NOT_TITLE.match(value) or any(_overlaps(claim, t) for t in taken):
            return
        taken.append(claim)
        found.append((_entity("title", value, claim[0], claim[1]), claim))

    for match in _BRACKETED.finditer(folded):
        group = 1 if match.group(1) is not None else 2
        add(match.start(group), match.end(group), (match.start(), match.end()))
    for match in _UNCLOSED.finditer(folded):
        add(match.start(1), match.end(1), (match.start(), match.end()))
    for pattern in (_TITLE_AFTER, _THIS_BOOK, _CALLED):
        for match in pattern.finditer(folded):
            start, end = match.span("t")
            lead = _LEAD.match(folded, start, end)
            if lead:
                start = lead.end()
            if pattern is _THIS_BOOK or pattern is _CALLED:
                # 「刘慈欣写的三体这本书」: the author is not part of the title.
                written = folded.rfind("写的", start, end)
                if written >= 0:
                    start = written + 2
            if pattern is _CALLED:
                tail = re.search(r"的书$|的$", folded[start:end])
                if tail:
                    end = start + tail.start()
            if start < end and not _NOT_TITLE_EDGE.search(folded[start:end]):
                add(start, end, (start, end))
    return found


# --- authors ----------------------------------------------------------------------------

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


# --- ISBN -------------------------------------------------------------------------------

_ISBN13 = re.compile(r"(?<![0-9x])(97[89](?:[- ]?[0-9]){10})(?![0-9x]|-[0-9])")
_ISBN10 = re.compile(
    r"(?:isbn|书号)(?:-?10)?(?:号)?\s*(?:是|为)?\s*[:：]?\s*"
    r"([0-9](?:[- ]?[0-9]){8}[- ]?[0-9x])(?![0-9x]|-[0-9])"
)


def _isbns(folded: str) -> Iterator[dict[str, Any]]:
    for match in _ISBN13.finditer(folded):
        digits = stdnum_isbn.compact(match.group(1))
        if len(digits) == 13 and stdnum_isbn.is_valid(digits):
            yield _entity("isbn", digits, match.start(1), match.end(1))
    for match in _ISBN10.finditer(folded):
        digits = stdnum_isbn.compact(match.group(1))
        if len(digits) == 10 and stdnum_isbn.is_valid(digits):
            value = stdnum_isbn.compact(stdnum_isbn.to_isbn13(digits))
            yield _entity("isbn", value, match.start(1), match.end(1))


# --- party size -------------------------------------------------------------------------

_NUM = r"(?P<n>[0-9]{1,3}|[零〇一二两三四五六七八九十百]{1,4}|俩|仨)"
_NOT_ORDINAL = r"(?<![第前后0-9零〇一二两三四五六七八九十百几])"
_PEOPLE = (
    r"个(?:同学|朋友|室友|舍友|小伙伴|伙伴|队友|组员|成员|学生|老师|座位|位子|位置|名额)|"
    r"(?:个)?(?:人|位|名)"
)
_NOT_UNIT = r"(?!个?(?:小时|钟|月|星期|礼拜|半)|[天本次楼层点号周年间场块元分页米倍届级])"
_PARTY = (
    # 我和3个同学 → the speaker plus three.
    (
        1,
        re.compile(
            r"(?:我|本人)(?:和|跟|与|加上?|带着?|还有)(?:另外|其他)?"
            + _NUM
            + r"(?:个|位|名)(?:同学|人|朋友|室友|舍友|小伙伴|伙伴|队友|组员|学生|老师)?"
        ),
    ),
    # 我们五个, 咱们宿舍4个, 一共4位, 共五人, 人数6
    (
        0,
        re.compile(
            r"(?:我们|咱们|俺们|一共|总共|共|人数)(?:宿舍|组|小组|班|社团|这边|一共|总共)?"
            r"(?:是|有|为)?\s*[:：]?\s*" + _NUM + _NOT_UNIT + r"(?:" + _PEOPLE + r"|个)?"
        ),
    ),
    # 5个人, 三人, 4位, 3名同学, 两个座位
    (0, re.compile(_NOT_ORDINAL + _NUM + r"\s*(?:" + _PEOPLE + r")")),
    # 我俩, 咱俩, 我们仨
    (0, re.compile(r"(?:我|咱|我们|咱们|他|她|他们|她们)(?P<n>俩|仨)")),
    # for 6 ppl, 4 people
    (0, re.compile(r"(?<![0-9])(?P<n>[0-9]{1,3})\s*(?:ppl|people|persons|pax)\b")),
)
_ONE_ALONE = re.compile(r"(?:我|就|只|仅|共|一共|总共|人数)[^\s" + _STOP + r"]{0,2}$")


def _party_sizes(folded: str) -> Iterator[dict[str, Any]]:
    for bonus, pattern in _PARTY:
        for match in pattern.finditer(folded):
            value = chinese_number(match.group("n"))
            if value is None or not 0 < value <= 500:
                continue
            if value == 1 and bonus == 0 and not _ONE_ALONE.search(folded, 0, match.start("n")):
                continue  # 一个人好孤独 is a feeling, not a booking for one
            yield _entity("party_size", value + bonus, match.start(), match.end())


# --- resource types, topics, categories: lexicons ---------------------------------------


def _lexicon(words: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """One named group per value. Alternatives are tried in the order given, so longer words
    come first (考研座位 before 座); at one position the earlier value wins (关系紧张 is
    relationships before it could be anxiety)."""
    return re.compile("|".join(f"(?P<{value}>{'|'.join(alts)})" for value, alts in words.items()))


_RESOURCES = _lexicon(
    {
        "discussion_room": (
            "小组学习室|小组讨论室|小组研讨室|团体学习室",
            "研讨空间|讨论空间|讨论室|讨论间|研讨室|研讨间",
            "discussion room",
        ),
        "cinema": ("3d影院|3d影厅|3d电影院|电影院|影院", "放映厅|电影厅|观影厅|观影室|影厅"),
        "research_room": (
            "教师研究室|教师研修室|单人研究室|独立研究室",
            "研究小间|研究间|研究厢|研究室|研修室|研修间|研读间",
        ),
        "seat": (
            "考研自习室|考研座位?|考研位|自习座位?|自习位|坐位|座位|占座|位子",
            r"(?<![讲一星在宝插底基])座(?![谈机右])",  # not 讲座, 星座, 插座, 座谈, 座机
            r"\bseats?\b",
        ),
    }
)

# Topic words. Ambiguous ones carry their context in the pattern (see the module docstring).
_RELATIVE = (
    r"(?:爷爷|奶奶|外公|外婆|姥姥|姥爷|爸爸|妈妈|父亲|母亲|老爸|老妈|我爸|我妈|哥哥|姐姐|弟弟|"
    r"妹妹|亲人|家人|舅舅|姑姑|阿姨|叔叔|伯伯|朋友|挚友|猫咪|狗狗|宠物|猫|狗)"
)
_CLAUSE = r"[^\s，。！？,!?]"
_TOPICS = _lexicon(
    {
        "grief": (
            "去世|离世|过世|病逝|丧亲|葬礼|节哀",
            "失去(?:了)?(?:至亲|亲人|家人|爷爷|奶奶|外公|外婆|爸爸|妈妈|父亲|母亲)",
            # 走了/没了 of a relative or a pet, not of anyone (他先走了)
            _RELATIVE + _CLAUSE + r"{0,5}?(?:走了(?![一出进过回开路])|没了|不在了)",
            "grief|passed away",
        ),
        "heartbreak": (
            "失恋|分手|被甩|前任|表白(?:失败|被拒)|被(?:喜欢的人|他|她)?拒绝|暗恋",
            "break ?up|broke up|heartbr[a-z]*",
        ),
        "relationships": (
            "人际关系|人际|吵架|吵了(?:一)?架|社恐|社交恐惧|闹掰|冷战|排挤|被孤立|孤立我",
            "合不来|处不来|相处不好|处不好|不会(?:和人|跟人|与人)?相处|交朋友|闹矛盾|有矛盾",
            "关系(?:很|好|特别|有点)?(?:僵|不好|紧张|差|一般)",
            # a roommate only with a conflict (我和室友一起约讨论室 is no topic)
            "室友"
            + _CLAUSE
            + "{0,6}?(?:矛盾|不和|相处|冲突|吵|闹|关系|针对|讨厌|嫌弃|排挤|孤立|处不|合不)",
            "(?:讨厌|受不了|烦)(?:我的)?(?:室友|舍友)",
        ),
        "insomnia": (
            "失眠|睡不着|睡不好|入睡困难|睡眠(?:不好|差|质量)|多梦|早醒",
            "can'?t sleep|insomnia",
        ),
        "stress": (
            "考研压力|压力|论文写不完|作业写不完|写不完|deadline|ddl|内卷|焦头烂额|忙不过来",
            "崩溃|心态崩|扛不住|喘不过气|内耗|stress(?:ed)?|pressure",
        ),
        "anxiety": (
            "焦虑|心慌|慌张|恐慌|不安|忐忑|anxious|anxiety|nervous",
            "(?<!不用|不要)(?<!别)担心",  # 不用担心我 reassures
            # 座位紧张 is scarcity; 关系紧张 is relationships (matched above)
            "(?<!座位|位置|位子|资源|名额|时间|关系|房间|床位)(?<!票)紧张",
            "(?<![得心])慌",  # 饿得慌 is an intensifier
        ),
        "low_mood": (
            "抑郁|低落|(?<![a-z])emo(?![a-z])|不(?:太|怎么|是很)?开心|难过|伤心|沮丧|郁闷",
            "心情(?:很|特别|有点|好)?(?:不好|差)|情绪(?:很|特别|有点|好)?(?:差|低|不好)",
            "(?<![沮])丧(?![亲事礼偶父母葬命失])|消沉|状态(?:很|好|特别)?差|高兴不起来",
            "提不起(?:劲|精神|兴趣)|打不起精神|没动力|想哭|失落|麻木|空虚",
            r"depress(?:ed|ion)|feel(?:ing)? down|\bsad\b",
        ),
        "loneliness": ("孤独|孤单|寂寞|没(?:有|什么)?朋友|没人陪|没人理解|lonely|loneliness",),
        "self_esteem": (
            "自卑|不自信|没(?:有)?自信|自信(?:一点|一些|心)|自我否定|否定自己|一无是处",
            "什么都做不好|比不上别人|(?:自己|我)(?:好|真|太|真的|很)(?:没用|失败|差劲)",
            "self[- ]esteem",
        ),
        "adaptation": (
            "不适应|适应不了|不太适应|不习惯|想家|思乡|融入不了|融不进|跟不上|水土不服",
            "homesick",
        ),
    }
)
_FRESHMAN = re.compile(r"新生")
_FEELING = re.compile(
    r"想家|适应|迷茫|孤独|孤单|难受|焦虑|不习惯|融入|害怕|紧张|陌生|不开心|难过|心情|无所适从|"
    r"手足无措|不知所措|累"
)

_CATEGORIES = _lexicon(
    {
        "reading_club": (
            "古法读书会|读书分享会|读书沙龙|读书会|书友会|共读",
            "reading club|book club",
        ),
        "lecture": ("学术报告|专题报告|报告会|讲座|讲坛", "lectures?"),
        "training": (
            "数据库(?:检索)?培训|文献检索课|检索课|培训|入馆教育|工作坊",
            "workshops?|training",
        ),
        "competition": ("知识竞赛|挑战赛|比赛|竞赛|大赛|征文", "competitions?|contests?"),
        "film": ("观影|电影|放映|展映|影展|影片|纪录片|放什么片", "movies?|films?|screenings?"),
        "exhibition": (
            "展览|书展|画展|展厅",
            "(?<![发进开扩拓延施伸舒招花])展(?![开望现露翅业宽延映示])",  # not 发展, 开展, 展开
            "exhibitions?",
        ),
    }
)


def _lexicon_hits(pattern: re.Pattern[str], name: str, folded: str) -> Iterator[dict[str, Any]]:
    for match in pattern.finditer(folded):
        value = match.lastgroup
        if value is not None:
            yield _entity(name, value, match.start(), match.end())


def _topics(folded: str) -> Iterator[dict[str, Any]]:
    yield from _lexicon_hits(_TOPICS, "topic", folded)
    if _FEELING.search(folded):
        for match in _FRESHMAN.finditer(folded):
            yield _entity("topic", "adaptation", match.start(), match.end())


# --- putting it together ----------------------------------------------------------------


def extract(text: str) -> list[dict[str, Any]]:
    """Every non-date entity in `text`, ordered by position; spans index into `text`."""
    folded = _fold(text)
    titled = _titles(text, folded)
    claims = [claim for _, claim in titled]
    titled += [
        t for t in _asked_titles(text, folded) if not any(_overlaps(t[1], c) for c in claims)
    ]
    claims = [claim for _, claim in titled]

    found: list[dict[str, Any]] = [entity for entity, _ in titled]
    groups = (
        list(_isbns(folded)),
        list(_authors(text, folded, bool(titled))),
        list(_party_sizes(folded)),
        list(_lexicon_hits(_RESOURCES, "resource_type", folded)),
        list(_topics(folded)),
        list(_lexicon_hits(_CATEGORIES, "category", folded)),
    )
    resources = [(e["start"], e["end"]) for e in groups[3]]
    for group in groups:
        # Within one kind of entity, the longer of two overlapping spans wins.
        group.sort(key=lambda e: (-(e["end"] - e["start"]), e["start"]))
        kept: list[dict[str, Any]] = []
        for entity in group:
            span = (entity["start"], entity["end"])
            if any(_overlaps(span, c) for c in claims):
                continue  # nothing is read from inside a title
            if any(_overlaps(span, (k["start"], k["end"])) for k in kept):
                continue
            if entity["entity"] == "category" and any(_overlaps(span, r) for r in resources):
                continue  # 放映厅 is a room, not a film
            kept.append(entity)
        found += kept

    found.sort(key=lambda e: (e["start"], e["end"], e["entity"]))
    unique: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for entity in found:
        key = (entity["entity"], str(entity["value"]))
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique
