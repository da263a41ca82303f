"""`extract`: the passes run in their fixed order over the folded text, the results sorted
and deduplicated."""

from __future__ import annotations

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
    return list(extract_on(text, day_of(now))) if text else []


def day_of(now: datetime) -> date:
    """The local day of `now`: all of the moment the extraction reads (「明天」, 「周五」; clock
    times are absolute)."""
    return (now.astimezone(_SHANGHAI) if now.tzinfo is not None else now).date()


def extract_on(text: str, today: date) -> tuple[Entity, ...]:
    """`extract` for the local day `today`: a pure function of the two."""
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
