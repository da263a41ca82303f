"""How the spaces were used over a span of days: bookings, booked and used minutes, the hours
of day they fill, and no-shows, per space and per zone (the staff console's statistics).

Read-only, like handlers.reservations.reports, whose helpers it shares.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core.clock import TZ, isoformat
from handlers.library.calendar import LibraryCalendar
from handlers.reservations.reports import _minute
from handlers.reservations.spaces import Spaces
from handlers.reservations.store import ACTIVE, minutes

# Bookings that reached their check-in deadline one way or another: the no-show rate's base.
DUE = ("checked_in", "away", "completed", "released", "no_show")

# Stamps are stored by bot.clock.isoformat, in the library's zone: their date and time can be
# read off the text, which matters when a year of a thousand seats is counted.
LOCAL_OFFSET = isoformat(datetime(2000, 1, 1, tzinfo=TZ))[-6:]


def _minute_on(stamp: str | None, day: str) -> int | None:
    """The minute of `day` at which `stamp` falls; None when it is none or another day."""
    if not stamp:
        return None
    if not stamp.endswith(LOCAL_OFFSET):
        stamp = isoformat(datetime.fromisoformat(stamp))
    if stamp[:10] != day:
        return None
    return int(stamp[11:13]) * 60 + int(stamp[14:16])


def _held(day: str, start: int, end: int, status: str, ended_at: str | None) -> tuple[int, int]:
    """The minutes of the day the booking kept the space from others: to its end, or to
    the moment it was released or given up as a no-show."""
    if status in ("released", "no_show"):
        ended = _minute_on(ended_at, day)
        if ended is not None:
            end = min(end, ended)
    return start, max(start, end)


def _used(
    day: str,
    start: int,
    end: int,
    status: str,
    checked_in_at: str | None,
    ended_at: str | None,
    now: str,
) -> tuple[int, int] | None:
    """The minutes the reader had it after checking in (暂离 included: the seat was theirs);
    one still in use counts to `now` (an ISO stamp; empty: to its end)."""
    if not checked_in_at:
        return None
    came = _minute_on(checked_in_at, day)
    begin = start if came is None else max(start, came)
    finish = end
    if ended_at:
        ended = _minute_on(ended_at, day)
        finish = end if ended is None else min(end, ended)
    elif status in ACTIVE:
        moment = _minute_on(now, day)
        finish = end if moment is None else min(end, moment)
    return (begin, finish) if finish > begin else None


def _mask(span: tuple[int, int]) -> int:
    """The hours of the day a span of minutes touches, as bits (hour h: bit h)."""
    start, end = span
    if end <= start:
        return 0
    return (1 << ((end - 1) // 60 + 1)) - (1 << (start // 60))


def _share(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _tally(
    db: Database, ids: set[str], first_day: date, last_day: date, now: datetime | None
) -> tuple[dict[str, dict[str, int]], list[int], list[int]]:
    """Per space its figures; per hour of day how many (day, space) pairs were booked, and
    used, in some part of it. Rows come ordered by day and space, so one space-day's hours
    are gathered at a time: a year of a thousand seats never sits in memory."""
    per = {
        i: {"bookings": 0, "booked_minutes": 0, "used_minutes": 0, "no_shows": 0, "due": 0}
        for i in ids
    }
    booked_hours, used_hours = [0] * 24, [0] * 24
    stamp = isoformat(now) if now is not None else ""
    key: tuple[str, str] = ("", "")
    booked_bits = used_bits = 0

    def count(bits: int, hours: list[int]) -> None:
        while bits:
            lowest = bits & -bits
            hours[lowest.bit_length() - 1] += 1
            bits ^= lowest

    rows = db.execute(
        "SELECT space_id, day, start, end, status, checked_in_at, ended_at FROM bookings "
        "WHERE day BETWEEN ? AND ? AND status != 'cancelled' ORDER BY day, space_id",
        [first_day.isoformat(), last_day.isoformat()],
    )
    for space_id, day, start_text, end_text, status, checked_in_at, ended_at in rows:
        if space_id not in ids:
            continue
        if (day, space_id) != key:
            count(booked_bits, booked_hours)
            count(used_bits, used_hours)
            key, booked_bits, used_bits = (day, space_id), 0, 0
        start, end = _minute(start_text), _minute(end_text)
        figures = per[space_id]
        figures["bookings"] += 1
        held = _held(day, start, end, status, ended_at)
        figures["booked_minutes"] += held[1] - held[0]
        booked_bits |= _mask(held)
        used = _used(day, start, end, status, checked_in_at, ended_at, stamp)
        if used is not None:
            figures["used_minutes"] += used[1] - used[0]
            used_bits |= _mask(used)
        if status in DUE:
            figures["due"] += 1
            figures["no_shows"] += status == "no_show"
    count(booked_bits, booked_hours)
    count(used_bits, used_hours)
    return per, booked_hours, used_hours


def utilisation(
    db: Database,
    spaces: Spaces,
    first_day: date,
    last_day: date,
    *,
    space_type: str = "",
    calendar: LibraryCalendar | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How the spaces were used from `first_day` to `last_day` (both included).

    Per space: bookings (not cancelled), booked minutes (held from others: to the end, or
    to a release or no-show), used minutes (from check-in to the end or release), no-shows,
    and with a `calendar` the opening minutes and the shares of them booked and used.
    Per hour of day: how many spaces were booked (used) in some part of that hour, averaged
    over the days (the open days, with a calendar). No-show rate: no-shows among bookings
    that reached their check-in time (cancelled and not yet due ones left out).
    """
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    chosen = [s for s in spaces.spaces.values() if not space_type or s.type == space_type]
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    open_minutes: dict[date, int] | None = None
    if calendar is not None:
        open_minutes = {}
        for day in days:
            hours = calendar.hours_on(day)
            if hours.opens is not None and hours.closes is not None:
                open_minutes[day] = max(0, minutes(hours.opens, hours.closes))
    per, booked_hours, used_hours = _tally(db, {s.id for s in chosen}, first_day, last_day, now)
    day_count = len(open_minutes) if open_minutes is not None else len(days)
    per_day_open = sum(open_minutes.values()) if open_minutes is not None else None
    listed = []
    for space in chosen:
        figures = per[space.id]
        listed.append(
            {
                "id": space.id,
                "type": space.type,
                "name": space.name,
                "zone": space.zone,
                **{k: v for k, v in figures.items() if k != "due"},
                "open_minutes": per_day_open,
                "booked_share": _share(figures["booked_minutes"], per_day_open),
                "used_share": _share(figures["used_minutes"], per_day_open),
            }
        )
    zones = []
    for zone in spaces.zones.values():
        members = [s for s in listed if s["zone"] == zone.id]
        if not members:
            continue
        booked = sum(s["booked_minutes"] for s in members)
        used = sum(s["used_minutes"] for s in members)
        whole = None if per_day_open is None else per_day_open * len(members)
        zones.append(
            {
                "id": zone.id,
                "name": zone.name,
                "spaces": len(members),
                "bookings": sum(s["bookings"] for s in members),
                "booked_minutes": booked,
                "used_minutes": used,
                "no_shows": sum(s["no_shows"] for s in members),
                "booked_share": _share(booked, whole),
                "used_share": _share(used, whole),
            }
        )
    due = sum(f["due"] for f in per.values())
    no_shows = sum(f["no_shows"] for f in per.values())
    return {
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "days": day_count,
        "space_type": space_type,
        "spaces": listed,
        "zones": zones,
        "hours": [
            {
                "hour": hour,
                "booked": round(booked_hours[hour] / day_count, 2) if day_count else 0.0,
                "used": round(used_hours[hour] / day_count, 2) if day_count else 0.0,
            }
            for hour in range(24)
        ],
        "no_show": {"due": due, "no_shows": no_shows, "rate": _share(no_shows, due)},
    }
