"""Several processes racing for the same seats at once: never a double booking."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.db import connect, migrate
from handlers.reservations import store
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

RACER = """
import sys, time, tomllib
from datetime import date, datetime, time as clock
from bot.core.clock import TZ
from bot.core.db import connect
from handlers.reservations import bookings, store
from handlers.library.calendar import LibraryCalendar
from handlers.reservations.spaces import from_config
library = tomllib.load(open("config/library.example.toml", "rb"))
spaces, calendar = from_config(library), LibraryCalendar.from_config(library)
db, start, racer = connect(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
now = datetime(2026, 11, 23, 6, 0, tzinfo=TZ)   # the release minute of Tuesday's seats
day = date(2026, 11, 24)
while time.time() < start:
    time.sleep(0.001)
won = 0
for n in range(40):
    # Everyone wants one of the same 25 seats (A001-A025), 08:00-12:00.
    seat = f"A{(n % 25) + 1:03d}"
    wish = store.Wish("seat", day, clock(8), clock(12), space_id=seat)
    try:
        bookings.book(db, spaces, calendar, store.Reader("mp", f"o{racer}-{n}"), wish, now)
        won += 1
    except store.BookingError:
        pass
print(won)
"""


def test_processes_racing_for_the_same_seats_never_double_book(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite3"
    migrate(path, [store.migrations])
    start = time.time() + 2
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path), str(start), str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    won = 0
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        won += int(out.strip())
    db = connect(path)
    rows = db.execute(
        "SELECT space_id, count(*) FROM bookings WHERE status = 'booked' GROUP BY space_id"
    ).fetchall()
    assert won == len(rows) == 25  # every seat taken once, by someone
    assert all(count == 1 for _, count in rows)
    # The slots agree: 25 seats × 4 hours × 12 five-minute units, no unit twice (the key).
    assert db.execute("SELECT count(*) FROM booking_slots").fetchone()[0] == 25 * 48
