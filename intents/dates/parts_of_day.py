"""Parts of the day (凌晨, 上午, 晚上 …): the words, the hours each stands for, and the last
pass, which reads a bare part of day or a range of two as start and end times."""

from __future__ import annotations

import re

from intents.dates.numerals import _SEP
from intents.dates.spans import Edit, Entity, _apply, _entity

_PARTS_PREFIX = (
    r"凌晨|早上|早晨|清晨|一早|上午|中午|下午|午后|傍晚|晚上|晚间|夜里|夜间|夜晚|深夜"
    r"|(?<![最太较很更稍提趁])早|(?<![最太较很更稍趁])晚"
)
_PARTS_BARE = r"凌晨|早上|早晨|清晨|一早|上午|中午|下午|午后|傍晚|晚上|晚间|夜晚"
_PART_KIND = {
    "凌晨": "dawn",
    "早上": "morning",
    "早晨": "morning",
    "清晨": "morning",
    "一早": "morning",
    "早": "morning",
    "上午": "am",
    "中午": "noon",
    "下午": "pm",
    "午后": "pm",
    "傍晚": "dusk",
    "晚上": "evening",
    "晚间": "evening",
    "夜里": "evening",
    "夜间": "evening",
    "夜晚": "evening",
    "深夜": "evening",
    "晚": "evening",
}
_PART_SPAN = {
    "dawn": ("00:00", "06:00"),
    "morning": ("07:00", "09:00"),
    "am": ("08:00", "12:00"),
    "noon": ("12:00", "14:00"),
    "pm": ("14:00", "18:00"),
    "dusk": ("17:00", "19:00"),
    "evening": ("18:00", "22:00"),
}

_PART_RANGE = re.compile(rf"(?P<p1>{_PARTS_BARE})\s?{_SEP}\s?(?P<p2>{_PARTS_BARE})")
_PART_BARE = re.compile(rf"(?:{_PARTS_BARE})(?!好)")


def _parts_of_day(work: str, found: list[Entity]) -> None:
    edits: list[Edit] = []
    for m in _PART_RANGE.finditer(work):
        first = _PART_SPAN[_PART_KIND[m["p1"]]]
        second = _PART_SPAN[_PART_KIND[m["p2"]]]
        found.append(_entity("start_time", first[0], m.start("p1"), m.end("p1")))
        found.append(_entity("end_time", second[1], m.start("p2"), m.end("p2")))
        edits.append((m.start(), m.end(), ""))
    work = _apply(work, edits)
    for m in _PART_BARE.finditer(work):
        start, end = _PART_SPAN[_PART_KIND[m.group()]]
        found.append(_entity("start_time", start, m.start(), m.end()))
        found.append(_entity("end_time", end, m.start(), m.end()))
