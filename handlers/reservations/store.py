"""Bookings of seats and rooms: the rules, and a database that cannot double-book.

Every booking also writes one row per 5-minute unit it covers into `booking_slots`
(PRIMARY KEY space, day, unit) and `reader_slots` (PRIMARY KEY reader, day, unit), in the same
BEGIN IMMEDIATE transaction as the booking. Two bookings of one space that overlap by even
five minutes cannot both be committed — the primary key refuses the second — whatever
process or worker makes them, and a reader cannot hold two bookings at the same time. Python
checks the rules first for a kind answer; the constraint is the guarantee.

Statuses: booked → checked_in ⇄ away (暂离) → completed; or cancelled (by the reader or
staff), released (the reader left early: the rest is free again), no_show (not checked in
within the window: freed, and a violation).
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import TZ, isoformat
from bot.core.db import write_transaction
from bot.core.errors import UserFacingError
from handlers.kit.forms import CLOSED_DAY, OUTSIDE_HOURS
from handlers.library.calendar import LibraryCalendar
from handlers.library.hours_text import day_label, hm
from handlers.reservations.spaces import TYPE_NAMES, Rules, Space, Spaces
from handlers.reservations.vacancies import Occupancy, minute

UNIT = 5  # minutes: every slot size is a multiple of it
ACTIVE = ("booked", "checked_in", "away")
ACTIVE_SQL = "(" + ", ".join(f"'{status}'" for status in ACTIVE) + ")"  # for status IN …
RACE_SPREAD = 32  # after a lost race for a space, the next try picks among this many
GROUP_TYPES = frozenset({"discussion_room", "cinema", "research_room"})  # booked by a group
REF_PREFIX = "YY"

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


# -- the rules -----------------------------------------------------------------------------------


def check_rules(
    db: Database,
    spaces: Spaces,
    calendar: LibraryCalendar,
    reader: Reader,
    wish: Wish,
    now: datetime,
) -> Rules:
    """Every rule a wish must meet before the database is asked; raises BookingError."""
    rules = spaces.rules[wish.space_type]
    name = TYPE_NAMES[wish.space_type]
    today = now.date()
    if reader.reader_type not in rules.who:
        raise BookingError(
            f"{name}仅限{'教职工' if rules.who == ('teacher',) else '指定读者'}预约哦。",
            "not_allowed",
        )
    until = suspended_until(db, spaces, reader, now)
    if until is not None:
        raise BookingError(
            f"你近 {spaces.policy.window_days} 天内有 {spaces.policy.limit} 次违约"
            f"（未签到或暂离超时），预约功能暂停到 {until.month}月{until.day}日 "
            f"{until:%H:%M}。如有疑问可发送「转人工」。",
            "suspended",
        )
    if wish.day < today or (wish.day == today and at(wish.day, wish.end) <= now):
        raise BookingError("这个时间已经过去啦，换一个时间吧～", "past")
    last = today + timedelta(days=rules.days_ahead)
    if wish.day > last:
        raise BookingError(f"{name}最多可以提前 {rules.days_ahead} 天预约。", "too_far")
    if wish.day == last and rules.days_ahead > 0 and now.time() < rules.release_time:
        raise BookingError(
            f"{day_label(wish.day, today)}的{name}每天 {hm(rules.release_time)} "
            "开放预约，到时再来哦～",
            "too_early",
        )
    length = minutes(wish.start, wish.end)
    if length <= 0:
        raise BookingError("结束时间要晚于开始时间哦。", "bad_time")
    if wish.start.minute % rules.slot_minutes % 60 or wish.end.minute % rules.slot_minutes % 60:
        raise BookingError(
            f"{name}按 {rules.slot_minutes} 分钟一段预约，请选整段的时间。", "bad_time"
        )
    if length < rules.min_minutes:
        raise BookingError(f"{name}每次至少预约 {rules.min_minutes} 分钟。", "too_short")
    if length > rules.max_minutes:
        raise BookingError(f"{name}每次最多预约 {rules.max_minutes // 60} 小时。", "too_long")
    hours = calendar.hours_on(wish.day)
    if not hours.is_open or hours.opens is None or hours.closes is None:
        why = f"（{hours.note}）" if hours.note else ""
        raise BookingError(CLOSED_DAY.format(day=day_label(wish.day, today), why=why), "closed")
    if wish.start < hours.opens or wish.end > hours.closes:
        raise BookingError(
            OUTSIDE_HOURS.format(
                day=day_label(wish.day, today), opens=hm(hours.opens), closes=hm(hours.closes)
            ),
            "outside_hours",
        )
    taken = _count(db, reader, wish.space_type, wish.day, wish.day)
    if taken >= rules.per_day:
        raise BookingError(f"{name}每人每天最多预约 {rules.per_day} 次。", "day_limit")
    monday = wish.day - timedelta(days=wish.day.weekday())
    if _count(db, reader, wish.space_type, monday, monday + timedelta(days=6)) >= rules.per_week:
        raise BookingError(f"{name}每人每周最多预约 {rules.per_week} 次。", "week_limit")
    return rules


def _count(db: Database, reader: Reader, kind: str, first: date, last: date) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM bookings WHERE channel = ? AND user_id = ? AND space_type = ? "
            "AND day BETWEEN ? AND ? AND status NOT IN ('cancelled')",
            [reader.channel, reader.user_id, kind, first.isoformat(), last.isoformat()],
        ).fetchone()[0]
    )


def fits(space: Space, wish: Wish) -> bool:
    if wish.space_type != space.type:
        return False
    if any(f not in space.features for f in wish.features):
        return False
    if space.type in GROUP_TYPES:
        return space.min_group <= wish.party_size <= space.capacity
    return True


def group_problem(space: Space, party_size: int) -> str | None:
    if party_size < space.min_group:
        return f"{space.name}至少 {space.min_group} 人使用，你们是 {party_size} 人。"
    if party_size > space.capacity:
        return f"{space.name}最多容纳 {space.capacity} 人，你们是 {party_size} 人。"
    return None


# -- what is free ----------------------------------------------------------------------------


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


def closed(db: Database, day: date, start: time, end: time) -> dict[str, str]:
    """Spaces closed at any moment of [start, end) on `day`: space id → the reason."""
    rows = db.execute(
        "SELECT space_id, reason FROM space_closures WHERE lifted_at IS NULL "
        "AND starts_at < ? AND ends_at > ?",
        [isoformat(at(day, end)), isoformat(at(day, start))],
    ).fetchall()
    return {space_id: reason for space_id, reason in rows}


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


# -- booking -------------------------------------------------------------------------------------


def named_space(spaces: Spaces, wish: Wish) -> Space:
    """The space the wish names, if it is of the wish's type and fits its group; raises
    BookingError (unknown_space, group_size) otherwise."""
    space = spaces.get(wish.space_id)
    if space is None or space.type != wish.space_type:
        raise BookingError(f"没有找到 {wish.space_id}，请核对编号。", "unknown_space")
    problem = group_problem(space, wish.party_size) if space.type != "seat" else None
    if problem:
        raise BookingError(problem, "group_size")
    return space


def book(
    db: Database,
    spaces: Spaces,
    calendar: LibraryCalendar,
    reader: Reader,
    wish: Wish,
    now: datetime,
) -> dict[str, Any]:
    """Book one space for the wish (its space_id, or the first free one that fits)."""
    check_rules(db, spaces, calendar, reader, wish, now)
    if wish.space_id:
        space = named_space(spaces, wish)
        shut = closed(db, wish.day, wish.start, wish.end)
        if space.id in shut:
            raise BookingError(
                f"{space.name}这段时间暂停开放（{shut[space.id]}）。", "closed_space"
            )
        choices = [space]
    else:
        choices = free(db, spaces, wish)
        if not choices:
            raise BookingError(none_free(wish, now), "taken")
    # Another reader may take the first free space between the read and the insert: the
    # primary key refuses ours, and we look again — what is free now, not a stale list —
    # leaving out what refused us (a booking ended early keeps its past slot rows). After a
    # refusal, others are racing for the same first seats: take one of the next few at random.
    choice = choices[0]
    refused: set[str] = set()
    for _attempt in range(20):
        try:
            return _insert(db, choice, reader, wish, now)
        except (_Taken, _Closed):
            if wish.space_id:
                break
            refused.add(choice.id)
            choices = [s for s in free(db, spaces, wish) if s.id not in refused]
            if not choices:
                break
            choice = random.choice(choices[:RACE_SPREAD])
        except _ReaderBusy:
            raise BookingError(
                "你在这个时间已经有预约了，可以发送「我的预约」查看。", "overlap"
            ) from None
    raise BookingError(
        none_free(wish, now) if not wish.space_id else f"{choice.name}这个时间已经被约了。",
        "taken",
    )


def none_free(wish: Wish, now: datetime) -> str:
    name = TYPE_NAMES[wish.space_type]
    return f"{day_label(wish.day, now.date())} {hm(wish.start)}–{hm(wish.end)} 的{name}已经约满了。"


class _Taken(Exception):
    pass


class _ReaderBusy(Exception):
    pass


class _Closed(Exception):
    pass


def _insert(
    db: Database, space: Space, reader: Reader, wish: Wish, now: datetime
) -> dict[str, Any]:
    day = wish.day.isoformat()
    span = units(wish.start, wish.end)
    with write_transaction(db):
        # Inside the transaction: a closure committed a moment ago is seen here, so a booking
        # can never slip in after staff have closed the space and collected its bookings.
        if space.id in closed(db, wish.day, wish.start, wish.end):
            raise _Closed()
        cursor = db.execute(
            "INSERT INTO bookings (space_id, space_type, channel, user_id, day, start, end, "
            "party_size, companions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                space.id,
                space.type,
                reader.channel,
                reader.user_id,
                day,
                hm(wish.start),
                hm(wish.end),
                wish.party_size,
                json.dumps(list(wish.companions)),
                isoformat(now),
            ],
        )
        booking_id = int(cursor.lastrowid or 0)
        db.execute(
            "UPDATE bookings SET ref = ? WHERE id = ?",
            [f"{REF_PREFIX}{booking_id:06d}", booking_id],
        )
        try:
            db.conn.executemany(
                "INSERT INTO booking_slots (space_id, day, unit, booking_id) VALUES (?, ?, ?, ?)",
                [[space.id, day, unit, booking_id] for unit in span],
            )
        except sqlite3.IntegrityError:
            raise _Taken() from None
        try:
            db.conn.executemany(
                "INSERT INTO reader_slots (channel, user_id, day, unit, booking_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [[reader.channel, reader.user_id, day, unit, booking_id] for unit in span],
            )
        except sqlite3.IntegrityError:
            raise _ReaderBusy() from None
    return get(db, booking_id)  # type: ignore[return-value]


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


def away_allowance(booking: dict[str, Any], rules: Rules) -> int:
    """Minutes a 暂离 may last — the meal-time allowance if it began in a meal window."""
    since = booking["away_since"]
    return (
        step_out_minutes(rules, datetime.fromisoformat(since)) if since else rules.step_out_minutes
    )


def _overstayed(booking: dict[str, Any], rules: Rules, now: datetime) -> bool:
    """Away (暂离) for longer than allowed."""
    if booking["status"] != "away" or not booking["away_since"]:
        return False
    since = datetime.fromisoformat(booking["away_since"])
    return now >= since + timedelta(minutes=away_allowance(booking, rules))


def _set(db: Database, booking_id: int, **columns: Any) -> None:
    names = ", ".join(f"{k} = ?" for k in columns)
    db.execute(f"UPDATE bookings SET {names} WHERE id = ?", [*columns.values(), booking_id])


def cancel(
    db: Database, booking: dict[str, Any], by: str, reason: str, now: datetime
) -> dict[str, Any]:
    """Cancel a booking that has not started being used; frees all of it."""
    with write_transaction(db):
        current = get(db, booking["id"])
        if current is None or current["status"] not in ("booked",):
            raise BookingError(
                "这个预约已经开始使用或已结束，不能取消了；离开时发送「退座」即可。",
                "not_cancellable",
            )
        _cancel_row(db, booking["id"], by, reason, now)
    return get(db, booking["id"])  # type: ignore[return-value]


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


def current_booking(
    db: Database, reader: Reader, now: datetime, spaces: Spaces
) -> dict[str, Any] | None:
    """The reader's booking that is in use or about to start (within the check-in window)."""
    for booking in of_reader(db, reader, now):
        if booking["day"] != now.date().isoformat():
            continue
        rules = spaces.rules[booking["space_type"]]
        start, end = span(booking)
        if start - timedelta(minutes=rules.check_in_before) <= now < end:
            return booking
    return None


def check_in(
    db: Database, spaces: Spaces, reader: Reader, now: datetime, space_id: str = ""
) -> dict[str, Any]:
    """Check in (or come back from 暂离) to the reader's current booking; `space_id` from a
    scanned QR code must be the booked one."""
    booking = current_booking(db, reader, now, spaces)
    if booking is None:
        seat = spaces.rules["seat"]
        raise BookingError(
            f"现在没有可以签到的预约哦（签到时间为开始前 {seat.check_in_before} 分钟"
            f"到开始后 {seat.check_in_after} 分钟）。",
            "nothing_to_check_in",
        )
    if space_id and space_id.upper() != booking["space_id"]:
        raise BookingError(
            f"你预约的是 {booking['space_id']}，请到对应位置扫码签到。", "wrong_space"
        )
    rules = spaces.rules[booking["space_type"]]
    start, _ = span(booking)
    # The window closes at start + check_in_after, the same instant settle() releases it.
    if booking["status"] == "booked" and now >= start + timedelta(minutes=rules.check_in_after):
        raise BookingError("已超过签到时间，这个预约已失效。", "too_late")
    if booking["status"] == "checked_in":
        raise BookingError("你已经签到过啦～", "already")
    _set(
        db,
        booking["id"],
        status="checked_in",
        checked_in_at=booking["checked_in_at"] or isoformat(now),
        away_since=None,
    )
    return get(db, booking["id"])  # type: ignore[return-value]


def step_out_minutes(rules: Rules, now: datetime) -> int:
    if any(a <= now.time() < b for a, b in rules.meal_windows):
        return rules.meal_step_out_minutes
    return rules.step_out_minutes


def step_out(
    db: Database, spaces: Spaces, reader: Reader, now: datetime
) -> tuple[dict[str, Any], int]:
    booking = current_booking(db, reader, now, spaces)
    if booking is None or booking["status"] != "checked_in":
        raise BookingError("只有签到后的座位才能暂离哦。", "not_checked_in")
    rules = spaces.rules[booking["space_type"]]
    _set(db, booking["id"], status="away", away_since=isoformat(now))
    return get(db, booking["id"]), step_out_minutes(rules, now)  # type: ignore[return-value]


def release(db: Database, spaces: Spaces, reader: Reader, now: datetime) -> dict[str, Any]:
    """The reader leaves: the booking ends now and the rest of its time is free again."""
    booking = current_booking(db, reader, now, spaces)
    if booking is None or booking["status"] not in ("checked_in", "away"):
        raise BookingError(
            "现在没有正在使用的预约；还没开始的预约可以发送「取消预约」。", "nothing_to_release"
        )
    with write_transaction(db):
        _end_early(db, booking["id"], now)
    return get(db, booking["id"])  # type: ignore[return-value]


# -- violations ----------------------------------------------------------------------------------


def add_violation(db: Database, booking: dict[str, Any], kind: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO violations (channel, user_id, booking_id, kind, at) VALUES (?, ?, ?, ?, ?)",
        [booking["channel"], booking["user_id"], booking["id"], kind, isoformat(now)],
    )


def violations_within(db: Database, reader: Reader, now: datetime, days: int) -> int:
    """Violations not waived in the last `days` days."""
    return int(
        db.execute(
            "SELECT count(*) FROM violations WHERE channel = ? AND user_id = ? "
            "AND waived_at IS NULL AND at > ?",
            [reader.channel, reader.user_id, isoformat(now - timedelta(days=days))],
        ).fetchone()[0]
    )


def suspended_until(db: Database, spaces: Spaces, reader: Reader, now: datetime) -> datetime | None:
    """When the reader may book again, if the violation policy suspends them now."""
    policy = spaces.policy
    rows = [
        datetime.fromisoformat(r[0])
        for r in db.execute(
            "SELECT at FROM violations WHERE channel = ? AND user_id = ? AND waived_at IS NULL "
            "AND at > ? ORDER BY at",
            [
                reader.channel,
                reader.user_id,
                isoformat(now - timedelta(days=policy.window_days + policy.suspend_days)),
            ],
        )
    ]
    # Suspended from the moment the limit is reached within a window, for suspend_days.
    for i in range(len(rows) - policy.limit + 1):
        first, reached = rows[i], rows[i + policy.limit - 1]
        if reached - first <= timedelta(days=policy.window_days):
            until = reached + timedelta(days=policy.suspend_days)
            if until > now:
                return until
    return None


def waive(db: Database, violation_id: int, by: str, reason: str, now: datetime) -> bool:
    if not reason.strip():
        raise BookingError("请写明免除违约的原因。", "reason_required")
    return (
        db.execute(
            "UPDATE violations SET waived_at = ?, waived_by = ?, waive_reason = ? "
            "WHERE id = ? AND waived_at IS NULL",
            [isoformat(now), by, reason.strip()[:200], violation_id],
        ).rowcount
        == 1
    )


# -- closures ----------------------------------------------------------------------------------


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


# -- timed work ------------------------------------------------------------------------------


def settle(db: Database, spaces: Spaces, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Release no-shows, end overstayed 暂离 and finish bookings whose time is over; returns
    what changed, for the notices. Runs every minute in the scheduler."""
    changed: dict[str, list[dict[str, Any]]] = {"no_show": [], "overstay": [], "completed": []}
    today = now.date().isoformat()
    rows = db.execute(
        f"SELECT id FROM bookings WHERE status IN {ACTIVE_SQL} AND day <= ?",
        [today],
    ).fetchall()
    for (booking_id,) in rows:
        booking = get(db, booking_id)
        assert booking is not None
        rules = spaces.rules[booking["space_type"]]
        start, end = span(booking)
        with write_transaction(db):
            current = get(db, booking_id)
            if current is None or current["status"] != booking["status"]:
                continue
            if booking["status"] == "booked" and now >= start + timedelta(
                minutes=rules.check_in_after
            ):
                _set(db, booking_id, status="no_show", ended_at=isoformat(now))
                _free_slots(db, booking_id)
                add_violation(db, booking, "no_show", now)
                changed["no_show"].append(booking)
            elif _overstayed(booking, rules, now) and now < end:
                _end_early(db, booking_id, now)
                add_violation(db, booking, "overstay", now)
                changed["overstay"].append(booking)
            elif booking["status"] in ("checked_in", "away") and now >= end:
                _set(db, booking_id, status="completed", ended_at=isoformat(end))
                changed["completed"].append(booking)
    return changed
