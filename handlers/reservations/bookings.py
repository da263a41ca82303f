"""Making and cancelling bookings: the space a wish names, the insert that the slot tables'
primary keys guard (handlers.reservations.store), and the retries after a lost race."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import isoformat
from bot.core.db import write_transaction
from handlers.library.calendar import LibraryCalendar
from handlers.library.hours_text import day_label, hm
from handlers.reservations.availability import free
from handlers.reservations.closures import closed
from handlers.reservations.rules import check_rules, group_problem
from handlers.reservations.spaces import TYPE_NAMES, Space, Spaces
from handlers.reservations.store import BookingError, Reader, Wish, _cancel_row, get, units

RACE_SPREAD = 32  # after a lost race for a space, the next try picks among this many
REF_PREFIX = "YY"


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
