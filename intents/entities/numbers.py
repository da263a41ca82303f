"""Number tokens (「5」, 「五」, 「十二」, 「俩」) to integers, read with cn2an one token at a
time."""

from __future__ import annotations

import re
import unicodedata

import cn2an

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
