"""What staff see of space bookings: occupancy now, search, violations, utilisation, CSV.

Read-only. handlers.reservations.store owns the bookings, violations and space_closures tables and
bot.core.users the readers; this module reads the former and asks bot.core.users for readers'
names and student numbers (joined here, in Python: the users table is not ours to query).
Everything here names readers, so it is for the staff console and API only — never for a
reader's chat.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core import users
from bot.core.clock import TZ, isoformat
from handlers.library.calendar import LibraryCalendar
from handlers.reservations.spaces import TYPE_NAMES, TYPES, Space, Spaces
from handlers.reservations.store import ACTIVE, minutes

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

# Bookings that reached their check-in deadline one way or another: the no-show rate's base.
DUE = ("checked_in", "away", "completed", "released", "no_show")


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


# -- utilisation ----------------------------------------------------------------------------------


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


# -- CSV ------------------------------------------------------------------------------------------

# Chinese column names: the file is for librarians, who open it in Excel or WPS and pass it
# to people who read Chinese. Scripts should use the JSON API, whose field names are English.
CSV_COLUMNS = (
    "预约号",
    "日期",
    "开始",
    "结束",
    "空间编号",
    "空间名称",
    "区域",
    "类型",
    "状态",
    "读者姓名",
    "学号",
    "渠道",
    "读者ID",
    "人数",
    "同行学号",
    "预约时间",
    "签到时间",
    "结束时间",
    "取消原因",
    "取消人",
)
BOM = "\ufeff"  # Excel reads a CSV without it as the local ANSI code page: Chinese garbled
CSV_CHUNK = 500


def _cell(value: Any) -> str:
    """A value as text; one a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _stamp(value: str | None) -> str:
    return f"{_local(datetime.fromisoformat(value)):%Y-%m-%d %H:%M}" if value else ""


def csv_row(row: dict[str, Any], spaces: Spaces) -> list[str]:
    space = spaces.get(row["space_id"])
    zone = spaces.zones.get(space.zone) if space else None
    values = [
        row["ref"],
        row["day"],
        row["start"],
        row["end"],
        row["space_id"],
        space.name if space else "",
        zone.name if zone else "",
        TYPE_NAMES.get(row["space_type"], row["space_type"]),
        STATUS_NAMES.get(row["status"], row["status"]),
        row.get("name"),
        row.get("student_no"),
        CHANNEL_NAMES.get(row["channel"], row["channel"]),
        row["user_id"],
        row["party_size"],
        "、".join(row["companions"]),
        _stamp(row["created_at"]),
        _stamp(row["checked_in_at"]),
        _stamp(row["ended_at"]),
        row["cancel_reason"],
        row["cancelled_by"],
    ]
    return [_cell(v) for v in values]


def _csv_chunks(batches: Iterator[list[dict[str, Any]]], spaces: Spaces) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield BOM + buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(row, spaces) for row in batch)
        yield buffer.getvalue()


def search_csv(
    db: Database,
    spaces: Spaces,
    *,
    query: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    status: str = "",
    space_id: str = "",
    space_type: str = "",
) -> Iterator[str]:
    """Every booking the search finds, as CSV chunks to stream (BOM and header first). One
    cursor walks the rows, so a year's bookings never sit in memory at once. Bad filters
    raise ValueError here, before anything is sent."""
    where, params = _where(db, query, day_from, day_to, status, space_id, space_type)
    rows = db.query(f"SELECT b.* {SEARCH_FROM}{where}{SEARCH_ORDER}", params)

    def batches() -> Iterator[list[dict[str, Any]]]:
        batch = []
        for row in rows:
            batch.append(_decoded(row))
            if len(batch) >= CSV_CHUNK:
                yield _with_readers(db, batch)
                batch = []
        if batch:
            yield _with_readers(db, batch)

    return _csv_chunks(batches(), spaces)
