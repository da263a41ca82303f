"""The words readers read about opening hours. Pure functions over handlers.library.calendar.

Kept apart from the rules so wording can change without touching them; every sentence a
reader sees about hours is built here.
"""

from __future__ import annotations

from datetime import date, datetime, time

from handlers.library.calendar import DayHours, LibraryCalendar

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
RELATIVE_DAYS = ("今天", "明天", "后天")
MAKEUP_WORKDAY = "调休工作日"
MAKEUP_TAG = "调休"


def hm(moment: time) -> str:
    return f"{moment:%H:%M}"


def _span(h: DayHours) -> str:
    # En dash between times, as printed on the library's notices.
    if h.opens is None or h.closes is None:
        return ""
    return f"{hm(h.opens)}–{hm(h.closes)}"


def _month_day(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _relative(d: date, today: date) -> str | None:
    offset = (d - today).days
    return RELATIVE_DAYS[offset] if 0 <= offset < len(RELATIVE_DAYS) else None


def day_label(d: date, today: date) -> str:
    """'今天（11月21日 周六）' for the next three days, '11月24日（周二）' after that."""
    relative = _relative(d, today)
    weekday = WEEKDAY_NAMES[d.weekday()]
    if relative:
        return f"{relative}（{_month_day(d)} {weekday}）"
    return f"{_month_day(d)}（{weekday}）"


def describe_day(h: DayHours, today: date) -> str:
    """One day's hours as a sentence, with the holiday, closure reason or special note."""
    label = day_label(h.day, today)
    if h.source == "holiday":
        state = f"开馆 {_span(h)}" if h.is_open else "闭馆"
        return f"{label}{h.note}，{state}"
    if h.source == "makeup_workday":
        state = f"开馆 {_span(h)}" if h.is_open else "闭馆"
        return f"{label}{MAKEUP_WORKDAY}，{state}"
    if not h.is_open:
        return f"{label}闭馆：{h.note}" if h.note else f"{label}闭馆"
    if h.note:
        return f"{label}开馆 {_span(h)}（{h.note}）"
    return f"{label}开馆 {_span(h)}"


def describe_week(days: list[DayHours]) -> str:
    """A compact overview, one line per day: '周一 11/23  07:00–22:30'."""
    lines = []
    for h in days:
        tag = MAKEUP_TAG if h.source == "makeup_workday" else h.note
        line = f"{WEEKDAY_NAMES[h.day.weekday()]} {h.day:%m/%d}  {_span(h) or '闭馆'}"
        lines.append(f"{line}（{tag}）" if tag else line)
    return "\n".join(lines)


def describe_now(cal: LibraryCalendar, moment: datetime) -> str:
    """Open or closed at `moment`, and when that changes."""
    today = moment.date()
    h = cal.hours_on(today)
    if cal.is_open_at(moment) and h.closes is not None:
        return f"现在开馆中，今天 {hm(h.closes)} 闭馆"
    # Say why when the whole day is shut for a reason (holiday, closure, special note).
    why = f"（{h.note}）" if not h.is_open and h.note else ""
    opening = cal.next_opening(moment)
    if opening is None:
        return f"现在闭馆{why}，近期暂无开馆安排，请留意图书馆通知"
    relative = _relative(opening.date(), today)
    when = f"{relative} " if relative else day_label(opening.date(), today)
    return f"现在闭馆{why}，下次开馆：{when}{hm(opening.time())}"
