"""Book titles: 《X》, 〈X〉, 书名：X, 查书：X, X这本书, 书叫X; found first, since nothing
else is read from inside a title."""

from __future__ import annotations

import re
from typing import Any

from intents.entities.spans import _STOP, _entity, _original, _overlaps

_BRACKETED = re.compile(r"《([^《》\n]+)》|〈([^〈〉\n]+)〉")
_UNCLOSED = re.compile(r"《([^《》，。！？,!?；;\n]+)$")
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
