"""What is free: the spaces that fit a wish, one read of what holds each space on a day, and
the nearest wishes that can be met when the one asked for cannot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from sqlite_utils import Database

from bot.core.clock import isoformat
from handlers.library.calendar import LibraryCalendar
from handlers.reservations.rules import GROUP_TYPES, fits
from handlers.reservations.spaces import Space, Spaces
from handlers.reservations.store import ACTIVE_SQL, Wish, at, minutes
from handlers.reservations.vacancies import Occupancy


def candidates(spaces: Spaces, wish: Wish) -> Sequence[Space]:
    """The spaces of the wish's type with its features and room for its group, in order."""
    found = spaces.of_type(wish.space_type)
    if wish.features or wish.space_type in GROUP_TYPES:
        return [s for s in found if fits(s, wish)]
    return found


def occupancy(db: Database, day: date) -> Occupancy:
    """One read of what holds each space on `day`: its active bookings and its closures.

    Read from `bookings` (one row per booking, indexed by day), not from the slot rows (one
    per 5 minutes): a full day of 1,000 seats is 1,000 rows here, 48,000 there, and the seat
    rush asks this for every reader. A booking ended early has left the active statuses, just
    as its remaining slots have been freed.
    """
    # 'HH:MM' to minutes in SQL: at the rush this runs for 1,000 rows per request.
    rows = db.execute(
        "SELECT space_id, substr(start, 1, 2) * 60 + substr(start, 4, 2), "
        "substr(end, 1, 2) * 60 + substr(end, 4, 2) FROM bookings "
        f"WHERE day = ? AND status IN {ACTIVE_SQL}",
        [day.isoformat()],
    ).fetchall()
    midnight = at(day, time(0))
    for space_id, starts_at, ends_at in db.execute(
        "SELECT space_id, starts_at, ends_at FROM space_closures WHERE lifted_at IS NULL "
        "AND starts_at < ? AND ends_at > ?",
        [isoformat(midnight + timedelta(days=1)), isoformat(midnight)],
    ):
        first = (datetime.fromisoformat(starts_at) - midnight).total_seconds() // 60
        last = -(-(datetime.fromisoformat(ends_at) - midnight).total_seconds() // 60)
        rows.append((space_id, max(0, int(first)), min(24 * 60, int(last))))
    return Occupancy.from_periods(rows)


def free(db: Database, spaces: Spaces, wish: Wish) -> list[Space]:
    vacant = occupancy(db, wish.day).vacancies(candidates(spaces, wish))
    return vacant.at(wish.start, wish.end)


def alternatives(
    db: Database, spaces: Spaces, calendar: LibraryCalendar, wish: Wish, limit: int = 3
) -> list[Wish]:
    """The nearest wishes that can be met: another space at the same time (same features),
    else the same length earlier or later that day (the space named, if it is free then)."""
    held = occupancy(db, wish.day)
    choices = candidates(spaces, wish)
    vacant = held.vacancies(choices)
    found = [replace(wish, space_id=s.id) for s in vacant.at(wish.start, wish.end, limit)]
    if found:
        return found
    hours = calendar.hours_on(wish.day)
    if hours.opens is None or hours.closes is None:
        return []
    named = next((s for s in choices if wish.space_id and s.id == wish.space_id), None)
    length = minutes(wish.start, wish.end)
    step = spaces.rules[wish.space_type].slot_minutes
    for shift in range(step, 12 * 60, step):
        for direction in (-1, 1):
            start = at(wish.day, wish.start) + timedelta(minutes=direction * shift)
            end = start + timedelta(minutes=length)
            if start.date() != wish.day or end.date() != wish.day:
                continue
            if start.time() < hours.opens or end.time() > hours.closes:
                continue
            if named and held.is_free(named.id, start.time(), end.time()):
                spot = named
            else:
                spot = next(iter(vacant.at(start.time(), end.time(), 1)), None)
            if spot:
                found.append(replace(wish, start=start.time(), end=end.time(), space_id=spot.id))
                if len(found) >= limit:
                    return found
    return found
