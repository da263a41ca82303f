"""Being there: check-in (a scanned code or 「签到」), 暂离 and coming back, 退座, and the
minute job's settling of no-shows, overstayed 暂离 and finished bookings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core.clock import isoformat
from bot.core.db import write_transaction
from handlers.reservations.spaces import Rules, Spaces
from handlers.reservations.store import (
    ACTIVE_SQL,
    BookingError,
    Reader,
    _end_early,
    _free_slots,
    _set,
    get,
    of_reader,
    span,
)
from handlers.reservations.violations import add_violation


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
