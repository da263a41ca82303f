"""The library's calendar: opening hours, public holidays, 调休 and librarians' duty hours.

Pure rules over the config's [hours], [calendar] and [handoff] sections. Nothing here reads
the clock or a file: callers pass the parsed TOML and the dates or moments they ask about.
Holidays come from the config's [calendar] lists first and from chinesecalendar otherwise;
chinesecalendar's data stops at 2026, so later years rely on the config lists alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal

import chinese_calendar

DaySource = Literal["weekly", "holiday", "makeup_workday", "special", "closure"]

WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Defaults when a key or a whole section is missing from the config.
DEFAULT_HOURS = "08:00-22:00"
DEFAULT_DUTY = "08:00-17:30"
DEFAULT_WEEKEND_DUTY = "closed"

# chinesecalendar names holidays in English (Holiday enum values); readers see these. Its own
# Chinese labels drop the 节 of 清明/端午/中秋, which reads clipped in a reply.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
# Shown for a config-listed holiday that has no name anywhere.
UNNAMED_HOLIDAY = "法定节假日"

_HOURS_KEYS = frozenset(WEEKDAY_KEYS) | {"holiday", "makeup_workday", "special", "closures"}
_CALENDAR_KEYS = frozenset({"holidays", "workdays", "names"})
_SPECIAL_KEYS = frozenset({"date", "hours", "note"})
_CLOSURE_KEYS = frozenset({"start", "end", "reason"})
_SPAN_RE = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarConfigError(ValueError):
    """The calendar part of the library config is malformed; the message names the key."""


@dataclass(frozen=True)
class DayHours:
    """What one day looks like: its hours (both None when closed) and why."""

    day: date
    opens: time | None
    closes: time | None
    source: DaySource
    note: str = ""

    @property
    def is_open(self) -> bool:
        """Whether the library opens at all on this day."""
        return self.opens is not None and self.closes is not None


@dataclass(frozen=True)
class Span:
    """An opening period within one day; `closes` is exclusive and always after `opens`."""

    opens: time
    closes: time

    def contains(self, moment: time) -> bool:
        """Open at the opening minute, closed from the closing minute on."""
        return self.opens <= moment < self.closes


@dataclass(frozen=True)
class Special:
    """Special hours for one date (None: closed that day)."""

    span: Span | None
    note: str


@dataclass(frozen=True)
class Closure:
    """An inclusive date range when the library is shut."""

    start: date
    end: date
    reason: str


@dataclass(frozen=True)
class LibraryCalendar:
    """The library's opening and duty rules. Build it with `LibraryCalendar.from_config`.

    The per-weekday tuples are indexed by `date.weekday()` (Monday is 0).
    """

    weekly: tuple[Span | None, ...]
    # A public holiday's hours per weekday: all the same when [hours].holiday is set, the
    # weekly schedule when it is not (a library that keeps normal hours on holidays).
    holiday: tuple[Span | None, ...]
    makeup_workday: tuple[Span | None, ...]
    special: Mapping[date, Special] = field(hash=False)
    closures: tuple[Closure, ...]
    # Config [calendar] lists, with each listed holiday's resolved name.
    holidays: Mapping[date, str] = field(hash=False)
    workdays: frozenset[date]
    duty: Span | None
    weekend_duty: Span | None

    @classmethod
    def from_config(cls, config: Mapping) -> LibraryCalendar:
        """Build from the whole parsed library TOML; raise CalendarConfigError if malformed."""
        if not isinstance(config, Mapping):
            raise CalendarConfigError(f"config: expected a table, got {config!r}")
        hours = _table(config, "hours")
        calendar = _table(config, "calendar")
        handoff = _table(config, "handoff")

        _reject_unknown(hours, "hours", _HOURS_KEYS)
        weekly = tuple(
            _parse_span(hours.get(key, DEFAULT_HOURS), f"hours.{key}") for key in WEEKDAY_KEYS
        )
        holiday = _per_weekday_override(hours, "holiday", weekly)
        makeup_workday = _per_weekday_override(hours, "makeup_workday", weekly)

        special: dict[date, Special] = {}
        for index, entry in enumerate(_array(hours, "special", "hours")):
            key = f"hours.special[{index}]"
            entry = _entry_table(entry, key, _SPECIAL_KEYS)
            day = _parse_date(_required(entry, "date", key), f"{key}.date")
            if day in special:
                raise CalendarConfigError(f"{key}.date: {day} already has special hours")
            span = _parse_span(_required(entry, "hours", key), f"{key}.hours")
            special[day] = Special(span, _optional_text(entry, "note", key))

        closures = []
        for index, entry in enumerate(_array(hours, "closures", "hours")):
            key = f"hours.closures[{index}]"
            entry = _entry_table(entry, key, _CLOSURE_KEYS)
            start = _parse_date(_required(entry, "start", key), f"{key}.start")
            end = _parse_date(_required(entry, "end", key), f"{key}.end")
            if end < start:
                raise CalendarConfigError(f"{key}: end {end} is before start {start}")
            closures.append(Closure(start, end, _optional_text(entry, "reason", key)))

        _reject_unknown(calendar, "calendar", _CALENDAR_KEYS)
        holiday_dates = _date_list(calendar, "holidays")
        workday_dates = _date_list(calendar, "workdays")
        for index, day in enumerate(_array(calendar, "workdays", "calendar")):
            if day in holiday_dates:
                raise CalendarConfigError(
                    f"calendar.workdays[{index}]: {day} is also listed in calendar.holidays"
                )
        names = _holiday_names(calendar, holiday_dates)

        return cls(
            weekly=weekly,
            holiday=holiday,
            makeup_workday=makeup_workday,
            special=MappingProxyType(special),
            closures=tuple(closures),
            holidays=MappingProxyType(_resolve_holiday_names(holiday_dates, names)),
            workdays=frozenset(workday_dates),
            duty=_parse_span(handoff.get("duty", DEFAULT_DUTY), "handoff.duty"),
            weekend_duty=_parse_span(
                handoff.get("weekend_duty", DEFAULT_WEEKEND_DUTY), "handoff.weekend_duty"
            ),
        )

    # -- which kind of day ---------------------------------------------------------------

    def public_holiday(self, d: date) -> str | None:
        """The holiday's Chinese name if `d` is a statutory day off (放假), else None.

        A plain weekend is not a public holiday; weekend days inside a holiday block are.
        """
        if d in self.holidays:
            return self.holidays[d]
        if d in self.workdays:
            return None
        return _chinese_calendar_holiday(d)

    def is_makeup_workday(self, d: date) -> bool:
        """Whether `d` is a Saturday or Sunday that is officially a working day (调休)."""
        if d.weekday() < 5:
            return False
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        detail = _chinese_calendar_detail(d)
        # For a weekend day, chinesecalendar says "not a holiday" only for a 调休 workday.
        return detail is not None and not detail[0]

    def is_working_day(self, d: date) -> bool:
        """Mon–Fri that is not a public holiday, or a make-up workday."""
        if d.weekday() < 5:
            return self.public_holiday(d) is None
        return self.is_makeup_workday(d)

    # -- opening hours -------------------------------------------------------------------

    def hours_on(self, d: date) -> DayHours:
        """The hours on `d`: closure > special > public holiday > make-up workday > weekly."""
        closure = self._closure_on(d)
        if closure is not None:
            return DayHours(d, None, None, "closure", closure.reason)
        special = self.special.get(d)
        if special is not None:
            return _day_hours(d, special.span, "special", special.note)
        holiday_name = self.public_holiday(d)
        if holiday_name is not None:
            return _day_hours(d, self.holiday[d.weekday()], "holiday", holiday_name)
        if self.is_makeup_workday(d):
            return _day_hours(d, self.makeup_workday[d.weekday()], "makeup_workday", "")
        return _day_hours(d, self.weekly[d.weekday()], "weekly", "")

    def week(self, start: date) -> list[DayHours]:
        """Seven days of hours from `start` on."""
        return [self.hours_on(start + timedelta(days=offset)) for offset in range(7)]

    def is_open_at(self, moment: datetime) -> bool:
        """Whether the library is open at `moment`, read as local wall-clock time."""
        span = self._opening_span(moment.date())
        return span is not None and span.contains(moment.time())

    def next_opening(self, moment: datetime, horizon_days: int = 60) -> datetime | None:
        """The next opening time strictly after `moment`, within `horizon_days` days.

        Meant for when the library is closed; if it is open at `moment` this is the start
        of the following opening period. Keeps `moment`'s tzinfo; None if nothing opens.
        """
        return _next_start(moment, self._opening_span, horizon_days)

    # -- librarians' chat duty -----------------------------------------------------------

    def on_duty(self, moment: datetime) -> bool:
        """Whether librarians answer hand-offs in chat at `moment` (local wall-clock)."""
        span = self._duty_span(moment.date())
        return span is not None and span.contains(moment.time())

    def next_duty_start(self, moment: datetime, horizon_days: int = 60) -> datetime | None:
        """The next start of duty strictly after `moment`, keeping its tzinfo; or None."""
        return _next_start(moment, self._duty_span, horizon_days)

    # -- helpers -------------------------------------------------------------------------

    def _closure_on(self, d: date) -> Closure | None:
        # First listed wins when closures overlap, so the reason shown is predictable.
        return next((c for c in self.closures if c.start <= d <= c.end), None)

    def _opening_span(self, d: date) -> Span | None:
        day = self.hours_on(d)
        if day.opens is None or day.closes is None:
            return None
        return Span(day.opens, day.closes)

    def _duty_span(self, d: date) -> Span | None:
        if self._closure_on(d) is not None or self.public_holiday(d) is not None:
            return None
        return self.duty if self.is_working_day(d) else self.weekend_duty


# -- chinesecalendar -----------------------------------------------------------------------


# The package's data never changes while we run, and a reply about opening hours asks it for
# the same few dates on every message (about 0.3 ms a message before this cache).
@functools.lru_cache(maxsize=4096)
def _chinese_calendar_detail(d: date) -> tuple[bool, str | None] | None:
    """chinesecalendar's (is_day_off, holiday_name), or None for years it does not cover."""
    try:
        return chinese_calendar.get_holiday_detail(d)
    except NotImplementedError:
        # Raised for years outside its data (after 2026 in 1.11.0); the config lists decide.
        return None


def _chinese_calendar_holiday(d: date) -> str | None:
    detail = _chinese_calendar_detail(d)
    if detail is None:
        return None
    day_off, name = detail
    # (True, None) is an ordinary weekend, not a holiday.
    if not day_off or name is None:
        return None
    return HOLIDAY_NAMES_ZH.get(name, name)


def _resolve_holiday_names(holidays: set[date], names: Mapping[date, str]) -> dict[date, str]:
    """Name every config-listed holiday, so readers never see a nameless day off.

    An explicit [calendar.names] entry wins, then chinesecalendar's name for that date; a
    day still unnamed takes the name of the listed day before it, because a notice usually
    names only the first day of a block (2027-02-05 春节 covers 02-06..02-12 too).
    """
    resolved: dict[date, str] = {}
    for day in sorted(holidays):
        previous = resolved.get(day - timedelta(days=1))
        resolved[day] = (
            names.get(day) or _chinese_calendar_holiday(day) or previous or UNNAMED_HOLIDAY
        )
    return resolved


# -- parsing -------------------------------------------------------------------------------


def _table(parent: Mapping, key: str, prefix: str = "") -> Mapping:
    value = parent.get(key, {})
    if not isinstance(value, Mapping):
        raise CalendarConfigError(f"{prefix}{key}: expected a table, got {value!r}")
    return value


def _array(parent: Mapping, key: str, prefix: str) -> list:
    value = parent.get(key, [])
    if not isinstance(value, list | tuple):
        raise CalendarConfigError(f"{prefix}.{key}: expected an array, got {value!r}")
    return list(value)


def _reject_unknown(table: Mapping, prefix: str, allowed: frozenset[str]) -> None:
    # A typo such as "wedensday" would otherwise silently fall back to the default hours.
    for key in table:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise CalendarConfigError(f"{prefix}.{key}: unknown key (expected one of {expected})")


def _entry_table(entry: object, key: str, allowed: frozenset[str]) -> Mapping:
    if not isinstance(entry, Mapping):
        raise CalendarConfigError(f"{key}: expected a table, got {entry!r}")
    _reject_unknown(entry, key, allowed)
    return entry


def _required(entry: Mapping, name: str, key: str) -> object:
    if name not in entry:
        raise CalendarConfigError(f"{key}.{name}: missing")
    return entry[name]


def _optional_text(entry: Mapping, name: str, key: str) -> str:
    value = entry.get(name, "")
    if not isinstance(value, str):
        raise CalendarConfigError(f"{key}.{name}: expected a string, got {value!r}")
    return value.strip()


def _parse_span(value: object, key: str) -> Span | None:
    """'HH:MM-HH:MM' -> Span; 'closed' -> None."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "closed":
            return None
        match = _SPAN_RE.fullmatch(text)
        if match:
            open_h, open_m, close_h, close_m = (int(part) for part in match.groups())
            opens = _clock_time(open_h, open_m, value, key)
            closes = _clock_time(close_h, close_m, value, key)
            if closes <= opens:
                raise CalendarConfigError(
                    f"{key}: closing time {closes:%H:%M} is not after opening time "
                    f"{opens:%H:%M} in {value!r}"
                )
            return Span(opens, closes)
    raise CalendarConfigError(f"{key}: expected 'HH:MM-HH:MM' or 'closed', got {value!r}")


def _clock_time(hour: int, minute: int, value: str, key: str) -> time:
    if hour > 23 or minute > 59:
        raise CalendarConfigError(
            f"{key}: {hour:02d}:{minute:02d} is not a time of day in {value!r}"
        )
    return time(hour, minute)


def _parse_date(value: object, key: str) -> date:
    # tomllib gives datetime.date for a bare 2026-12-24; a quoted string or a date-time is
    # a config mistake worth naming rather than guessing at.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise CalendarConfigError(f"{key}: expected a TOML date like 2026-12-24, got {value!r}")


def _date_list(calendar: Mapping, name: str) -> set[date]:
    return {
        _parse_date(value, f"calendar.{name}[{index}]")
        for index, value in enumerate(_array(calendar, name, "calendar"))
    }


def _holiday_names(calendar: Mapping, holidays: set[date]) -> dict[date, str]:
    """[calendar.names]: TOML keys are strings, so dates arrive as 'YYYY-MM-DD'."""
    names: dict[date, str] = {}
    for raw_key, value in _table(calendar, "names", "calendar.").items():
        key = f"calendar.names.{raw_key}"
        if isinstance(raw_key, date) and not isinstance(raw_key, datetime):
            day = raw_key
        elif isinstance(raw_key, str) and _ISO_DATE_RE.fullmatch(raw_key):
            try:
                day = date.fromisoformat(raw_key)
            except ValueError:
                raise CalendarConfigError(f"{key}: not a valid date") from None
        else:
            raise CalendarConfigError(f'{key}: expected a date key like "2027-01-01"')
        if day not in holidays:
            raise CalendarConfigError(f"{key}: {day} is not listed in calendar.holidays")
        if not isinstance(value, str) or not value.strip():
            raise CalendarConfigError(f"{key}: expected a holiday name, got {value!r}")
        names[day] = value.strip()
    return names


def _per_weekday_override(
    hours: Mapping, key: str, weekly: tuple[Span | None, ...]
) -> tuple[Span | None, ...]:
    if key not in hours:
        return weekly
    return (_parse_span(hours[key], f"hours.{key}"),) * 7


def _day_hours(d: date, span: Span | None, source: DaySource, note: str) -> DayHours:
    if span is None:
        return DayHours(d, None, None, source, note)
    return DayHours(d, span.opens, span.closes, source, note)


def _next_start(
    moment: datetime, span_for: Callable[[date], Span | None], horizon_days: int
) -> datetime | None:
    """First span start strictly after `moment`, scanning its date and `horizon_days` more."""
    wall_clock = moment.replace(tzinfo=None)
    for offset in range(horizon_days + 1):
        day = moment.date() + timedelta(days=offset)
        span = span_for(day)
        if span is None:
            continue
        start = datetime.combine(day, span.opens)
        if start > wall_clock:
            return start.replace(tzinfo=moment.tzinfo)
    return None
