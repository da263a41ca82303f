"""Space closures: a space out of use for a period (maintenance, an exam, an event) — which
spaces are closed when, closing one (and the bookings it hits), lifting one early."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlite_utils import Database

from bot.core.clock import TZ, isoformat
from bot.core.db import write_transaction
from handlers.library.hours_text import hm
from handlers.reservations.store import (
    ACTIVE_SQL,
    UNIT,
    _cancel_row,
    _end_early,
    _free_slots,
    _set,
    at,
    span,
)
from handlers.reservations.vacancies import minute


def closed(db: Database, day: date, start: time, end: time) -> dict[str, str]:
    """Spaces closed at any moment of [start, end) on `day`: space id → the reason."""
    rows = db.execute(
        "SELECT space_id, reason FROM space_closures WHERE lifted_at IS NULL "
        "AND starts_at < ? AND ends_at > ?",
        [isoformat(at(day, end)), isoformat(at(day, start))],
    ).fetchall()
    return {space_id: reason for space_id, reason in rows}


def add_closure(
    db: Database,
    space_id: str,
    starts: datetime,
    ends: datetime,
    reason: str,
    by: str,
    now: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Close a space for [starts, ends): the closure, and the active bookings it hit — those
    not begun are cancelled, one in use ends now — all in one transaction, so a booking made
    at the same moment is either among them or refused."""
    with write_transaction(db):
        closure_id = int(
            db.execute(
                "INSERT INTO space_closures (space_id, starts_at, ends_at, reason, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [space_id, isoformat(starts), isoformat(ends), reason, by, isoformat(now)],
            ).lastrowid
            or 0
        )
        hit = []
        for booking in db.query(
            f"SELECT * FROM bookings WHERE space_id = ? AND status IN {ACTIVE_SQL} "
            "AND day BETWEEN ? AND ? ORDER BY day, start",
            [space_id, starts.date().isoformat(), ends.date().isoformat()],
        ):
            begin, finish = span(booking)
            if not (begin < ends and finish > starts):
                continue
            if booking["status"] == "booked":
                _cancel_row(db, booking["id"], by, reason, now)
            elif starts <= now:
                _end_early(db, booking["id"], now)
            else:  # in use now, the closure comes later: it ends when the closure begins
                local = starts.astimezone(TZ).time()
                _set(db, booking["id"], end=hm(local))
                _free_slots(db, booking["id"], from_unit=minute(local) // UNIT)
            hit.append(booking)
    closure = next(db.query("SELECT * FROM space_closures WHERE id = ?", [closure_id]))
    return closure, hit


def lift_closure(db: Database, closure_id: int, by: str, now: datetime) -> bool:
    """End a closure early (the room is mended sooner); False when none is in force."""
    return (
        db.execute(
            "UPDATE space_closures SET lifted_at = ?, lifted_by = ? WHERE id = ? "
            "AND lifted_at IS NULL AND ends_at > ?",
            [isoformat(now), by, closure_id, isoformat(now)],
        ).rowcount
        == 1
    )


def closures(db: Database, now: datetime, active_only: bool = True) -> list[dict[str, Any]]:
    """Closures in force or planned (active_only), else all, newest first."""
    where = "WHERE lifted_at IS NULL AND ends_at > ?" if active_only else ""
    params = [isoformat(now)] if active_only else []
    return list(db.query(f"SELECT * FROM space_closures {where} ORDER BY starts_at DESC", params))
