"""The bookings' tables, and the rows of them every other module reads and writes.

Every booking also writes one row per 5-minute unit it covers into `booking_slots`
(PRIMARY KEY space, day, unit) and `reader_slots` (PRIMARY KEY reader, day, unit), in the same
BEGIN IMMEDIATE transaction as the booking. Two bookings of one space that overlap by even
five minutes cannot both be committed — the primary key refuses the second — whatever
process or worker makes them, and a reader cannot hold two bookings at the same time. Python
checks the rules first for a kind answer (handlers.reservations.rules); the constraint is the
guarantee (handlers.reservations.bookings).

Statuses: booked → checked_in ⇄ away (暂离) → completed; or cancelled (by the reader or
staff), released (the reader left early: the rest is free again), no_show (not checked in
within the window: freed, and a violation).

Also here, because every module of the capability uses them: what a reader asked for (Wish),
who asked (Reader), BookingError, and the time helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import TZ, isoformat
from bot.core.errors import UserFacingError
from handlers.reservations.vacancies import minute

UNIT = 5  # minutes: every slot size is a multiple of it
ACTIVE = ("booked", "checked_in", "away")
ACTIVE_SQL = "(" + ", ".join(f"'{status}'" for status in ACTIVE) + ")"  # for status IN …

migrations = Migrations("bookings")


@migrations()
def create_booking_tables(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE bookings (
            id INTEGER PRIMARY KEY,
            ref TEXT UNIQUE,
            space_id TEXT NOT NULL,
            space_type TEXT NOT NULL,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            start TEXT NOT NULL,
            end TEXT NOT NULL,
            party_size INTEGER NOT NULL DEFAULT 1,
            companions TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'booked' CHECK (status IN
                ('booked', 'checked_in', 'away', 'completed', 'cancelled', 'released', 'no_show')),
            created_at TEXT NOT NULL,
            checked_in_at TEXT,
            away_since TEXT,
            ended_at TEXT,
            reminded_at TEXT,
            cancel_reason TEXT,
            cancelled_by TEXT
        )
        """
    )
    db.execute("CREATE INDEX bookings_reader ON bookings (channel, user_id, day)")
    db.execute("CREATE INDEX bookings_day ON bookings (day, status)")
    db.execute(
        """
        CREATE TABLE booking_slots (
            space_id TEXT NOT NULL,
            day TEXT NOT NULL,
            unit INTEGER NOT NULL,
            booking_id INTEGER NOT NULL REFERENCES bookings (id),
            PRIMARY KEY (space_id, day, unit)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE reader_slots (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            unit INTEGER NOT NULL,
            booking_id INTEGER NOT NULL REFERENCES bookings (id),
            PRIMARY KEY (channel, user_id, day, unit)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX booking_slots_booking ON booking_slots (booking_id)")
    db.execute("CREATE INDEX reader_slots_booking ON reader_slots (booking_id)")
    db.execute(
        """
        CREATE TABLE violations (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            booking_id INTEGER REFERENCES bookings (id),
            kind TEXT NOT NULL CHECK (kind IN ('no_show', 'overstay')),
            at TEXT NOT NULL,
            waived_at TEXT,
            waived_by TEXT,
            waive_reason TEXT
        )
        """
    )
    db.execute("CREATE INDEX violations_reader ON violations (channel, user_id, at)")


@migrations()
def create_space_closures(db: Database) -> None:
    # A space out of use for a period (maintenance, an exam, an event): nobody can book it
    # then; the bookings it hit are cancelled by handlers.reservations.staff, which tells
    # the readers.
    db.execute(
        """
        CREATE TABLE space_closures (
            id INTEGER PRIMARY KEY,
            space_id TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            lifted_at TEXT,
            lifted_by TEXT,
            CHECK (ends_at > starts_at)
        )
        """
    )
    db.execute("CREATE INDEX space_closures_space ON space_closures (space_id, ends_at)")


class BookingError(UserFacingError):
    """A booking that cannot be made or changed: `message` is the sentence for the reader
    (the router says it as it is), `reason` a stable word for the API and the form (taken,
    closed, too_early, …)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Reader:
    channel: str
    user_id: str
    reader_type: str = "student"


@dataclass(frozen=True)
class Wish:
    """What a reader asked for: a type (or one space), a day and a time range."""

    space_type: str
    day: date
    start: time
    end: time
    party_size: int = 1
    space_id: str = ""
    features: tuple[str, ...] = ()
    companions: tuple[str, ...] = ()


# -- time helpers ------------------------------------------------------------------------------


def units(start: time, end: time) -> range:
    return range(minute(start) // UNIT, minute(end) // UNIT)


def minutes(start: time, end: time) -> int:
    return minute(end) - minute(start)


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=TZ)


def span(booking: dict[str, Any]) -> tuple[datetime, datetime]:
    """When a stored booking starts and ends."""
    day = date.fromisoformat(booking["day"])
    return at(day, time.fromisoformat(booking["start"])), at(
        day, time.fromisoformat(booking["end"])
    )


# -- rows ----------------------------------------------------------------------------------------


def get(db: Database, booking_id: int) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM bookings WHERE id = ?", [booking_id]), None)


def by_ref(db: Database, ref: str) -> dict[str, Any] | None:
    row = db.execute("SELECT id FROM bookings WHERE ref = ?", [ref.upper()]).fetchone()
    return get(db, int(row[0])) if row else None


def of_reader(
    db: Database, reader: Reader, now: datetime, active_only: bool = True
) -> list[dict[str, Any]]:
    where = f"AND status IN {ACTIVE_SQL} AND day >= ?" if active_only else "AND day >= ?"
    return list(
        db.query(
            f"SELECT * FROM bookings WHERE channel = ? AND user_id = ? {where} ORDER BY day, start",
            [
                reader.channel,
                reader.user_id,
                (now.date() - timedelta(days=0 if active_only else 30)).isoformat(),
            ],
        )
    )


def _free_slots(db: Database, booking_id: int, from_unit: int | None = None) -> None:
    extra, params = ("AND unit >= ?", [from_unit]) if from_unit is not None else ("", [])
    db.execute(f"DELETE FROM booking_slots WHERE booking_id = ? {extra}", [booking_id, *params])
    db.execute(f"DELETE FROM reader_slots WHERE booking_id = ? {extra}", [booking_id, *params])


def _end_early(db: Database, booking_id: int, now: datetime) -> None:
    """Released now: the units from the next one on are free for others (call it inside a
    write transaction)."""
    _set(db, booking_id, status="released", ended_at=isoformat(now))
    _free_slots(db, booking_id, from_unit=-(-minute(now.time()) // UNIT))


def _set(db: Database, booking_id: int, **columns: Any) -> None:
    names = ", ".join(f"{k} = ?" for k in columns)
    db.execute(f"UPDATE bookings SET {names} WHERE id = ?", [*columns.values(), booking_id])


def _cancel_row(db: Database, booking_id: int, by: str, reason: str, now: datetime) -> None:
    """Cancelled, and all of its time free again (call it inside a write transaction)."""
    _set(
        db,
        booking_id,
        status="cancelled",
        ended_at=isoformat(now),
        cancel_reason=reason[:200],
        cancelled_by=by,
    )
    _free_slots(db, booking_id)
