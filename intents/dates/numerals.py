"""Folding a message to one width and case, Chinese numerals, and pattern pieces every pass
shares."""

from __future__ import annotations

# -- folding: one width, one case, a few traditional forms; never changes the length ---------

_FOLD = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}  # full-width ASCII → ASCII
_FOLD.update({i: i + 32 for i in range(ord("A"), ord("Z") + 1)})
_FOLD.update(str.maketrans("\u3000\u2014\u2013\u2015\u2212\u301c", " ----~"))  # dashes, waves
_FOLD.update(str.maketrans("點週號兩鐘頭禮個後時節慶勞動間淩", "点周号两钟头礼个后时节庆劳动间凌"))

# -- Chinese numerals ------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGIT.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})


def _cn_int(s: str) -> int | None:
    """「十二」→12, 「二十三」→23, 「一百二十」→120, 「二〇二七」→2027; None if malformed."""
    if s.isascii():
        return int(s) if s.isdigit() else None
    if "十" not in s and "百" not in s:
        value = 0
        for ch in s:
            digit = _CN_DIGIT.get(ch)
            if digit is None:
                return None
            value = value * 10 + digit
        return value
    total = 0
    rest = s
    if "百" in rest:
        head, _, rest = rest.partition("百")
        hundreds = _CN_DIGIT.get(head) if head else 1
        if hundreds is None:
            return None
        total += hundreds * 100
        rest = rest.lstrip("零〇")
    if "十" in rest:
        head, _, tail = rest.partition("十")
        tens = _CN_DIGIT.get(head) if head else 1
        ones = _CN_DIGIT.get(tail) if tail else 0
        if tens is None or ones is None:
            return None
        total += tens * 10 + ones
    elif rest:
        ones = _CN_DIGIT.get(rest)
        if ones is None:
            return None
        total += ones
    return total


def _number(s: str) -> float | None:
    if "." in s:
        try:
            return float(s)
        except ValueError:
            return None
    return _cn_int(s)


# -- shared pattern pieces ---------------------------------------------------------------------

_CN = "零〇一二两三四五六七八九十"
_SEP = r"(?:到|至|-{1,2}|~)"
