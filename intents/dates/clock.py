"""Clock times (3点半, 15:00, 3pm, 晚上八点) and time ranges (3点到5点), read with the part of
day before them into 24-hour start and end times."""

from __future__ import annotations

import re

from intents.dates.numerals import _CN, _SEP, _cn_int
from intents.dates.parts_of_day import _PART_KIND, _PARTS_PREFIX
from intents.dates.spans import Edit, Entity, _apply, _entity

# Minutes after 点: 半, 一刻/三刻, 整, 零五/05, two digits or a Chinese number with 十, or a single
# digit with 分. A lone 「3点一」 is not a minute (「3点一起」).
_MINUTE = (
    r"\s?(?:半|[一1三3]\s?刻(?!钟)|整"
    r"|(?:零|0)(?:\d|[一二三四五六七八九])\s?分?"
    r"|(?:\d\d|[一二三四五]?十[一二三四五六七八九]?)\s?分?"
    r"|(?:\d|[一二三四五六七八九])\s?分)"
    r"(?![个位名本楼层号人钟章节页\d])"
)


def _time_pattern(k: str) -> str:
    """One clock time; group names carry the suffix k so a range can hold two."""
    return (
        rf"(?:(?<![\d.:])(?P<ch{k}>\d{{1,2}})\s?:\s?(?P<cm{k}>\d\d)(?!\d)"
        rf"(?:\s?(?P<cap{k}>[ap])\.?m(?![a-z])\.?)?"
        rf"|(?<![\d.:第a-z])(?P<dh{k}>\d{{1,2}})\s?(?:点|时(?![间候段长]))(?P<dz{k}>\s?钟)?"
        rf"(?P<dm{k}>{_MINUTE})?"
        rf"|(?<![{_CN}百千第几])(?P<kh{k}>[{_CN}]{{1,3}})\s?(?:点|时(?![间候段长]))(?P<kz{k}>\s?钟)?"
        rf"(?P<km{k}>{_MINUTE})?"
        rf"|(?<![\d.:])(?P<ah{k}>\d{{1,2}})\s?(?P<ap{k}>[ap])\.?m(?![a-z])\.?)"
    )


_RANGE = re.compile(
    rf"(?:(?P<p1>{_PARTS_PREFIX})\s?)?"
    rf"(?:{_time_pattern('1')}|(?<![\d.:])(?P<bh1>\d{{1,2}})|(?<![{_CN}百千第几])(?P<bk1>[{_CN}]{{1,3}}))"
    rf"\s?{_SEP}\s?(?:(?P<p2>{_PARTS_PREFIX})\s?)?{_time_pattern('2')}"
)
_SINGLE = re.compile(rf"(?:(?P<p1>{_PARTS_PREFIX})\s?)?{_time_pattern('1')}")
_BEFORE = re.compile(r"\s?(?:之前|以前|前(?!后))")
_NOT_A_TIME_AFTER = re.compile(
    r"建议|意见|要求|内容|原因|问题|看法|想法|疑问|注意|不足|理由|需求|感受|收获|体会|说明|想说|要说"
)

_Clock = tuple[int, int, str | None, bool]  # hour, minute, "a"/"p" or None, taken as written


def _read_clock(m: re.Match[str], k: str) -> _Clock | None:
    """The raw clock reading of one time in a match, before any part-of-day rule."""
    if m["ch" + k] is not None:
        hour_text = m["ch" + k]
        hour, minute = int(hour_text), int(m["cm" + k])
        ampm = m["cap" + k]
        fixed = hour_text.startswith("0") and len(hour_text) == 2
    elif m["ah" + k] is not None:
        hour, minute, ampm, fixed = int(m["ah" + k]), 0, m["ap" + k], False
    else:
        digits = m["dh" + k] is not None
        parsed = int(m["dh" + k]) if digits else _cn_int(m["kh" + k])
        if parsed is None:
            return None
        hour, ampm, fixed = parsed, None, False
        minute_text = m[("dm" if digits else "km") + k]
        minute = _read_minute(minute_text) if minute_text else 0
        if minute is None:
            return None
    if ampm is not None and not 1 <= hour <= 12:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute, ampm, fixed or hour >= 13


def _read_minute(text: str) -> int | None:
    text = text.strip().rstrip("分").strip()
    if text == "半":
        return 30
    if text == "整":
        return 0
    if text.endswith("刻"):
        return 15 if text[0] in "一1" else 45
    return _cn_int(text.lstrip("零"))


def _to_24h(clock: _Clock, part: str | None) -> int:
    hour, _, ampm, fixed = clock
    if ampm == "a":
        return 0 if hour == 12 else hour
    if ampm == "p":
        return hour if hour == 12 else hour + 12
    if fixed:
        return hour
    kind = _PART_KIND.get(part) if part else None
    if kind is None:
        return hour + 12 if 1 <= hour <= 6 else hour  # booking sense: 3点 is 15:00
    if kind == "dawn":
        return 0 if hour == 12 else hour
    if kind == "noon":
        return hour + 12 if 1 <= hour <= 3 else hour
    if kind in ("pm", "dusk"):
        return hour + 12 if 1 <= hour <= 11 else hour
    if kind == "evening":
        if hour == 12:
            return 0
        return hour + 12 if 5 <= hour <= 11 else hour
    return hour  # morning, am


def _hhmm(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _time_ranges(work: str, found: list[Entity]) -> str:
    edits: list[Edit] = []
    for m in _RANGE.finditer(work):
        end_clock = _read_clock(m, "2")
        if end_clock is None:
            continue
        if m["bh1"] is not None or m["bk1"] is not None:
            if m["dh2"] is None and m["kh2"] is None:  # 「3-15:00」 is not a range
                continue
            hour = int(m["bh1"]) if m["bh1"] is not None else _cn_int(m["bk1"])
            if hour is None or hour > 23:
                continue
            start_clock: _Clock | None = (hour, 0, None, hour >= 13)
        else:
            start_clock = _read_clock(m, "1")
        if start_clock is None:
            continue
        part1, part2 = m["p1"], m["p2"] or m["p1"]
        h1, m1 = _to_24h(start_clock, part1), start_clock[1]
        h2, m2 = _to_24h(end_clock, part2), end_clock[1]
        if (h2, m2) <= (h1, m1) and h2 + 12 <= 23 and (h2 + 12, m2) > (h1, m1):
            h2 += 12  # 「10点到2点」 ends at 14:00
        split = m.start("p2") if m["p2"] else _second_time_start(m)
        sep_start = _sep_start(work, m, split)
        found.append(_entity("start_time", _hhmm(h1, m1), m.start(), sep_start))
        found.append(_entity("end_time", _hhmm(h2, m2), split, m.end()))
        edits.append((m.start(), m.end(), ""))
    return _apply(work, edits)


def _second_time_start(m: re.Match[str]) -> int:
    for group in ("ch2", "dh2", "kh2", "ah2"):
        if m[group] is not None:
            return m.start(group)
    return m.end()


def _sep_start(work: str, m: re.Match[str], split: int) -> int:
    """Where the first time of a range ends: before the separator and its spaces."""
    i = split
    while i > m.start() and work[i - 1] in " 到至-~":
        i -= 1
    return i


def _single_times(work: str, found: list[Entity]) -> str:
    edits: list[Edit] = []
    for m in _SINGLE.finditer(work):
        clock = _read_clock(m, "1")
        if clock is None:
            continue
        part = m["p1"]
        bare_hour = part is None and (m["kh1"] is not None or m["dh1"] is not None)
        if bare_hour and m["dm1"] is None and m["km1"] is None:
            after_date = m.start() > 0 and work[m.start() - 1] == "\0"
            if m["kh1"] == "一" and m["kz1"] is None and not after_date:
                continue  # 「快一点」, 「有一点」: 'a little', not one o'clock
            if _NOT_A_TIME_AFTER.match(work, m.end()):
                continue  # 「三点建议」: three points
        value = _hhmm(_to_24h(clock, part), clock[1])
        name = "end_time" if _BEFORE.match(work, m.end()) else "start_time"
        found.append(_entity(name, value, m.start(), m.end()))
        edits.append((m.start(), m.end(), ""))
    return _apply(work, edits)
