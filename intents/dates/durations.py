"""Durations (1.5小时, 半小时, 二十分钟, 一刻钟) in minutes; the first pass, so that 「1.5小时」 is
never read as the date 1/5."""

from __future__ import annotations

import re

from intents.dates.numerals import _CN, _cn_int, _number
from intents.dates.spans import Edit, Entity, _apply, _entity

_DUR_NUM = rf"(?:\d{{1,4}}(?:\.\d{{1,2}})?|[{_CN}百]{{1,5}})"
_DURATION = re.compile(
    rf"(?<![\d.])(?:"
    rf"(?P<h>{_DUR_NUM})\s?(?:个\s?)?(?P<half>半\s?)?(?:个\s?)?"
    rf"(?:小时|钟头|钟|hours?|hrs?|h(?![a-z]))"
    rf"(?:\s?(?:零|又)?\s?(?P<hm>\d{{1,2}}|[{_CN}]{{1,3}})\s?分钟?)?"
    rf"|半\s?(?:个\s?)?(?:小时|钟头|个钟)"
    rf"|(?P<m>{_DUR_NUM})\s?(?:分钟|mins?(?![a-z])|minutes?)"
    rf"|(?P<q>[一二两三123])\s?刻钟"
    rf")(?!\s?(?:开放|营业|自习|服务|制|不间断))"
)


def _durations(work: str, found: list[Entity]) -> str:
    edits: list[Edit] = []
    for m in _DURATION.finditer(work):
        minutes = _duration_minutes(m)
        if minutes is None or not 0 < minutes <= 24 * 60:
            continue
        found.append(_entity("duration_minutes", minutes, m.start(), m.end()))
        edits.append((m.start(), m.end(), ""))
    return _apply(work, edits)


def _duration_minutes(m: re.Match[str]) -> int | None:
    if m.group("h") is not None:
        hours = _number(m.group("h"))
        if hours is None:
            return None
        total = hours * 60 + (30 if m.group("half") else 0)
        if m.group("hm") is not None:
            extra = _cn_int(m.group("hm"))
            if extra is None or extra >= 60:
                return None
            total += extra
        return round(total)
    if m.group("m") is not None:
        minutes = _number(m.group("m"))
        return None if minutes is None else round(minutes)
    if m.group("q") is not None:
        quarters = _cn_int(m.group("q"))
        return None if quarters is None else quarters * 15
    return 30  # 半小时 / 半个钟头
