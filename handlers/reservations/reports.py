"""What staff see of space bookings: occupancy now, search, violations. The utilisation
statistics are in handlers.reservations.utilisation, the CSV export in
handlers.reservations.export; both build on the helpers here.

Read-only. handlers.reservations.store owns the bookings, violations and space_closures tables and
bot.core.users the readers; this module reads the former and asks bot.core.users for readers'
names and student numbers (joined here, in Python: the users table is not ours to query).
Everything here names readers, so it is for the staff console and API only — never for a
reader's chat.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from bot.core import users
from bot.core.clock import TZ, isoformat
from handlers.reservations.spaces import TYPES, Space, Spaces
from handlers.reservations.store import ACTIVE

STATES = ("free", "booked", "in_use", "away", "closed")
STATE_NAMES = {
    "free": "空闲",
    "booked": "已预约",
    "in_use": "使用中",
    "away": "暂离",
    "closed": "暂停开放",
}
STATUSES = ("booked", "checked_in", "away", "completed", "cancelled", "released", "no_show")
# The reader's chat says 待签到 / 使用中 / 暂离中 for the first three; staff read the same.
STATUS_NAMES = {
    "booked": "待签到",
    "checked_in": "使用中",
    "away": "暂离中",
    "completed": "已完成",
    "cancelled": "已取消",
    "released": "已退座",
    "no_show": "未签到",
}
STATUS_FILTERS = ("", "active", *STATUSES)  # "active": booked, checked_in or away
VIOLATION_KINDS = {"no_show": "未签到", "overstay": "暂离超时"}
VIOLATION_FILTERS = ("open", "waived", "all")
CHANNEL_NAMES = {"mp": "公众号", "work": "企业微信"}


def _reader(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": row["channel"],
        "user_id": row["user_id"],
        "name": row.get("name"),
        "student_no": row.get("student_no"),
    }


def _with_readers(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, each given its reader's `name` and `student_no` (None for a reader we do not
    know), as a LEFT JOIN on users gave them."""
    known = users.names_of(db, ((row["channel"], row["user_id"]) for row in rows))
    for row in rows:
        reader = known.get((row["channel"], row["user_id"]), {})
        row["name"] = reader.get("name")
        row["student_no"] = reader.get("student_no")
    return rows


# Bookings or violations of the readers given as a JSON list of [channel, user_id] pairs.
OF_READERS = "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"


def _readers_matching(db: Database, query: str) -> str:
    """The readers whose student number starts with `query` or whose name contains it, as
    the JSON parameter of OF_READERS."""
    return json.dumps(users.matching_name_or_number(db, query))


def _local(moment: datetime) -> datetime:
    return moment.astimezone(TZ)


def _minute(text: str) -> int:
    """Minutes of the day of an "HH:MM" time."""
    return int(text[:2]) * 60 + int(text[3:5])


# -- occupancy ------------------------------------------------------------------------------------


def closures_at(db: Database, now: datetime) -> dict[str, dict[str, Any]]:
    """Closures in force at `now`: space id → the closure (the one ending last)."""
    stamp = isoformat(now)
    rows = db.query(
        "SELECT * FROM space_closures WHERE lifted_at IS NULL AND starts_at <= ? "
        "AND ends_at > ? ORDER BY ends_at",
        [stamp, stamp],
    )
    return {row["space_id"]: row for row in rows}


def _today(db: Database, day: str) -> list[dict[str, Any]]:
    """The day's bookings that were not cancelled, with their readers, by start."""
    rows = db.query(
        "SELECT b.id, b.ref, b.space_id, b.status, b.start, b.end, b.party_size, "
        "b.channel, b.user_id FROM bookings b "
        "WHERE b.day = ? AND b.status != 'cancelled' ORDER BY b.start, b.id",
        [day],
    )
    return _with_readers(db, list(rows))


def _space_state(
    space: Space,
    rows: list[dict[str, Any]],
    closure: dict[str, Any] | None,
    clock: int,
    window: int,
) -> dict[str, Any]:
    """One space at minute `clock` of the day, from its bookings of the day (by start)."""
    state, current = "free", None
    held = [r for r in rows if r["status"] in ("checked_in", "away")]
    upcoming = [r for r in rows if r["status"] == "booked" and _minute(r["end"]) > clock]
    if held:
        current = held[0]
        state = "in_use" if current["status"] == "checked_in" else "away"
    elif upcoming:
        state, current = "booked", upcoming[0]
    if closure is not None:
        state = "closed"
    return {
        "id": space.id,
        "type": space.type,
        "name": space.name,
        "capacity": space.capacity,
        "state": state,
        "bookings_today": len(rows),
        "booking": None
        if current is None
        else {
            "ref": current["ref"],
            "status": current["status"],
            "start": current["start"],
            "end": current["end"],
            "party_size": current["party_size"],
            "soon": _minute(current["start"]) - window <= clock,
            "reader": _reader(current),
        },
        "closure": None
        if closure is None
        else {"id": closure["id"], "reason": closure["reason"], "ends_at": closure["ends_at"]},
    }


def occupancy(db: Database, spaces: Spaces, now: datetime) -> list[dict[str, Any]]:
    """Every zone (config order) with each of its spaces' state at `now`, and totals.

    A space is `closed` (a closure in force), else `in_use` or `away` (a booking checked in,
    or stepped out of), else `booked` (a booking later today not yet over: `soon` when its
    check-in window is open or its time has begun), else `free`. `bookings_today` counts the
    day's bookings of the space that were not cancelled.
    """
    local = _local(now)
    clock = local.hour * 60 + local.minute
    per_space: dict[str, list[dict[str, Any]]] = {}
    for row in _today(db, local.date().isoformat()):
        per_space.setdefault(row["space_id"], []).append(row)
    shut = closures_at(db, now)
    zones = []
    for zone in spaces.zones.values():
        listed = [
            _space_state(
                space,
                per_space.get(space.id, []),
                shut.get(space.id),
                clock,
                spaces.rules[space.type].check_in_before,
            )
            for space in spaces.spaces.values()
            if space.zone == zone.id
        ]
        if not listed:
            continue
        totals = dict.fromkeys(STATES, 0) | {"spaces": len(listed), "bookings_today": 0}
        for space in listed:
            totals[space["state"]] += 1
            totals["bookings_today"] += space["bookings_today"]
        zones.append(
            {
                "id": zone.id,
                "name": zone.name,
                "floor": zone.floor,
                "totals": totals,
                "spaces": listed,
            }
        )
    return zones


def today_counts(db: Database, now: datetime) -> dict[str, int]:
    """The dashboard's figures: today's bookings (not cancelled) and how many are in use,
    stepped out, waiting for their reader, or were no-shows."""
    day = _local(now).date().isoformat()
    counts = dict(
        db.execute(
            "SELECT status, count(*) FROM bookings WHERE day = ? GROUP BY status", [day]
        ).fetchall()
    )
    return {
        "bookings": sum(n for status, n in counts.items() if status != "cancelled"),
        "booked": counts.get("booked", 0),
        "in_use": counts.get("checked_in", 0),
        "away": counts.get("away", 0),
        "no_show": counts.get("no_show", 0),
        "cancelled": counts.get("cancelled", 0),
    }


# -- search ---------------------------------------------------------------------------------------


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


SEARCH_FROM = "FROM bookings b"


def _where(
    db: Database,
    query: str,
    day_from: date | None,
    day_to: date | None,
    status: str,
    space_id: str,
    space_type: str,
) -> tuple[str, list[Any]]:
    if status not in STATUS_FILTERS:
        raise ValueError(f"unknown status {status!r}")
    if space_type and space_type not in TYPES:
        raise ValueError(f"unknown space type {space_type!r}")
    clauses: list[str] = []
    params: list[Any] = []
    query = query.strip()
    if query:
        # A reference or a space id (as typed, any case), the start of a reader's id or
        # student number, or part of a name.
        clauses.append(
            "(b.ref LIKE ? ESCAPE '\\' OR b.space_id = ? OR b.user_id LIKE ? ESCAPE '\\' "
            f"OR (b.channel, b.user_id) IN {OF_READERS})"
        )
        start = _like(query) + "%"
        params += [_like(query.upper()) + "%", query.upper(), start, _readers_matching(db, query)]
    if day_from:
        clauses.append("b.day >= ?")
        params.append(day_from.isoformat())
    if day_to:
        clauses.append("b.day <= ?")
        params.append(day_to.isoformat())
    if status == "active":
        clauses.append(f"b.status IN ({', '.join('?' * len(ACTIVE))})")
        params += list(ACTIVE)
    elif status:
        clauses.append("b.status = ?")
        params.append(status)
    if space_id.strip():
        clauses.append("b.space_id = ?")
        params.append(space_id.strip().upper())
    if space_type:
        clauses.append("b.space_type = ?")
        params.append(space_type)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


SEARCH_ORDER = " ORDER BY b.day DESC, b.start, b.space_id, b.id"


def search(
    db: Database,
    *,
    query: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    status: str = "",
    space_id: str = "",
    space_type: str = "",
    limit: int = 20,
    skip: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Bookings matching every filter given, latest day first and by start within a day,
    with the reader's name and student number; and how many match in all. Raises
    ValueError for an unknown status or type (callers validate first)."""
    where, params = _where(db, query, day_from, day_to, status, space_id, space_type)
    total = db.execute(f"SELECT count(*) {SEARCH_FROM}{where}", params).fetchone()[0]
    rows = db.query(
        f"SELECT b.* {SEARCH_FROM}{where}{SEARCH_ORDER} LIMIT ? OFFSET ?",
        [*params, limit, skip],
    )
    return _with_readers(db, [_decoded(row) for row in rows]), int(total)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["companions"] = json.loads(row.get("companions") or "[]")
    return row


def booking(db: Database, ref: str) -> dict[str, Any] | None:
    """One booking by its reference (any case), with its reader's name and student number."""
    row = next(db.query(f"SELECT b.* {SEARCH_FROM} WHERE b.ref = ?", [ref.strip().upper()]), None)
    return None if row is None else _with_readers(db, [_decoded(row)])[0]


def violations_of_booking(db: Database, booking_id: int) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM violations WHERE booking_id = ? ORDER BY id", [booking_id]))


# -- violations -----------------------------------------------------------------------------------

VIOLATIONS_FROM = "FROM violations v LEFT JOIN bookings b ON b.id = v.booking_id"
VIOLATION_COLUMNS = "v.*, b.ref AS booking_ref, b.space_id, b.day, b.start, b.end"


def violations(
    db: Database, *, state: str = "open", query: str = "", limit: int = 20, skip: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Violations, newest first: `open` (not waived), `waived` or `all`; `query` matches the
    booking's reference, the reader's id or student number (start) or name (part)."""
    if state not in VIOLATION_FILTERS:
        raise ValueError(f"unknown state {state!r}")
    clauses, params = [], []
    if state == "open":
        clauses.append("v.waived_at IS NULL")
    elif state == "waived":
        clauses.append("v.waived_at IS NOT NULL")
    query = query.strip()
    if query:
        start = _like(query) + "%"
        clauses.append(
            "(b.ref LIKE ? ESCAPE '\\' OR v.user_id LIKE ? ESCAPE '\\' "
            f"OR (v.channel, v.user_id) IN {OF_READERS})"
        )
        params += [_like(query.upper()) + "%", start, _readers_matching(db, query)]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = db.execute(f"SELECT count(*) {VIOLATIONS_FROM}{where}", params).fetchone()[0]
    rows = db.query(
        f"SELECT {VIOLATION_COLUMNS} {VIOLATIONS_FROM}{where} ORDER BY v.at DESC, v.id DESC "
        "LIMIT ? OFFSET ?",
        [*params, limit, skip],
    )
    return _with_readers(db, list(rows)), int(total)


def violation(db: Database, violation_id: int) -> dict[str, Any] | None:
    row = next(
        db.query(f"SELECT {VIOLATION_COLUMNS} {VIOLATIONS_FROM} WHERE v.id = ?", [violation_id]),
        None,
    )
    return None if row is None else _with_readers(db, [row])[0]


def closure(db: Database, closure_id: int) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM space_closures WHERE id = ?", [closure_id]), None)
