"""`extract`: the passes run in their fixed order over the folded text, the results sorted
and deduplicated."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta, timezone

from intents.dates.clock import _single_times, _time_ranges
from intents.dates.days import _dates
from intents.dates.durations import _durations
from intents.dates.numerals import _FOLD
from intents.dates.parts_of_day import _parts_of_day
from intents.dates.spans import Entity

_SHANGHAI = timezone(timedelta(hours=8))  # China has had no DST since 1991

_ORDER = {"date": 0, "start_time": 1, "end_time": 2, "duration_minutes": 3}


def extract(text: str, now: datetime) -> list[Entity]:
    """Dates, start/end times and durations in `text`, relative to `now`.

    `now` should be aware; it is read in Asia/Shanghai. A naive `now` is taken as local time.
    """
    if not text:
        return []
    if now.tzinfo is not None:
        now = now.astimezone(_SHANGHAI)
    # Copies: the remembered entities are shared, and a caller may edit its own.
    return [dict(entity) for entity in _extract_on(text, now.date())]


@functools.lru_cache(maxsize=4096)
def _extract_on(text: str, today: date) -> tuple[Entity, ...]:
    """The passes for `text` on `today`: of the moment only its date matters (「明天」, 「周五」;
    clock times are absolute), so the result is a pure function of the two, and readers send
    the same words again and again that day: remembered, bounded."""
    work = text.translate(_FOLD)
    found: list[Entity] = []

    work = _durations(work, found)
    work = _dates(work, today, found)
    work = _time_ranges(work, found)
    work = _single_times(work, found)
    _parts_of_day(work, found)

    found.sort(key=lambda e: (e["start"], _ORDER[str(e["entity"])], e["end"]))
    seen: set[tuple[object, ...]] = set()
    unique: list[Entity] = []
    for entity in found:
        key = tuple(entity.values())
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return tuple(unique)
