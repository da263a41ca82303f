"""The rules a wish must meet before the database is asked: who may book, how far ahead and
from which minute, slot size, shortest and longest, per day and per week, opening hours,
suspension; and which spaces fit a group."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlite_utils import Database

from handlers.kit.forms import CLOSED_DAY, OUTSIDE_HOURS
from handlers.library.calendar import LibraryCalendar
from handlers.library.hours_text import day_label, hm
from handlers.reservations.spaces import TYPE_NAMES, Rules, Space, Spaces
from handlers.reservations.store import BookingError, Reader, Wish, at, minutes
from handlers.reservations.violations import suspended_until

GROUP_TYPES = frozenset({"discussion_room", "cinema", "research_room"})  # booked by a group


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
