"""Demo bookings for `make run`, so the console's occupancy grid and charts have something
to show."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.core.values import MP
from handlers.kit.services import Services
from handlers.reservations import bookings, store
from handlers.reservations.spaces import spaces_of

DEMO_SEATS = 240
DEMO_ROOMS = 8


def seed_bookings(services: Services) -> int:
    """Book seats and rooms for made-up readers so the console's occupancy grid and charts
    have something to show; only once (none when any booking exists), and only what the
    rules allow at this hour. Returns how many were made."""
    db, now = services.db(), services.now()
    if db["bookings"].count:
        return 0
    made = 0
    for offset in (0, 1):
        day = now.date() + timedelta(days=offset)
        hours = services.calendar.hours_on(day)
        if not hours.is_open or hours.opens is None or hours.closes is None:
            continue
        begin = max(datetime.combine(day, hours.opens, now.tzinfo), now)
        minute = -(-(begin.hour * 60 + begin.minute) // 30) * 30 if offset == 0 else 0
        first = max(minute, hours.opens.hour * 60 + hours.opens.minute)
        for n in range(DEMO_SEATS // 2 + DEMO_ROOMS // 2):
            kind = "seat" if n < DEMO_SEATS // 2 else "discussion_room"
            start = first + (n % 3) * 60
            end = start + (240 if kind == "seat" else 120)
            if end > hours.closes.hour * 60 + hours.closes.minute:
                continue
            wish = store.Wish(
                kind, day, time(start // 60, start % 60), time(end // 60, end % 60), party_size=4
            )
            reader = store.Reader(MP, f"oDemoBooker{offset}{n:03d}")
            try:
                bookings.book(db, spaces_of(services), services.calendar, reader, wish, now)
            except store.BookingError:
                continue  # outside what the rules allow at this hour: fewer demo bookings
            made += 1
    return made


def seed(services: Services) -> str:
    return f"{seed_bookings(services)} booking(s) made"
