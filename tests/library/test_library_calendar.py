"""Opening hours, holidays, 调休 and duty rules (handlers.library.calendar) and their words.

Dates in 2026 lean on chinesecalendar 1.11.0's data (国庆 2026-10-01..07, 调休 2026-10-10 and
2026-09-20); 2027 and later are beyond its data, so only the config lists count there.
"""

from __future__ import annotations

import copy
import re
import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.library.calendar import CalendarConfigError, DayHours, LibraryCalendar
from handlers.library.hours_text import describe_day, describe_now, describe_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "library.example.toml"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")

BASE: dict = {
    "hours": {
        **{day: "07:00-22:30" for day in WEEKDAYS},
        "saturday": "08:00-22:00",
        "sunday": "08:00-22:00",
        "holiday": "08:30-17:00",
        "makeup_workday": "07:30-21:00",
        "special": [
            {"date": date(2026, 11, 25), "hours": "07:00-23:30", "note": "考试周延长开放"},
            {"date": date(2026, 10, 2), "hours": "09:00-12:00", "note": "校友返校日"},
            {"date": date(2026, 12, 31), "hours": "07:00-20:00", "note": "跨年夜"},
            {"date": date(2026, 11, 26), "hours": "closed", "note": "消防演练"},
        ],
        "closures": [
            {"start": date(2026, 12, 30), "end": date(2027, 1, 2), "reason": "年终检修"},
            {"start": date(2026, 11, 27), "end": date(2026, 11, 27)},
        ],
    },
    "calendar": {
        "holidays": [date(2027, 1, 1), date(2027, 5, 1), date(2027, 5, 2), date(2027, 6, 9)],
        "workdays": [date(2027, 4, 25)],
        "names": {"2027-05-01": "劳动节"},
    },
    "handoff": {"duty": "08:00-17:30", "weekend_duty": "09:00-17:00", "answer_within_hours": 24},
}


def config_with(**sections: dict) -> dict:
    """BASE with some sections' keys replaced (a key set to None is removed)."""
    config = copy.deepcopy(BASE)
    for section, changes in sections.items():
        for key, value in changes.items():
            if value is None:
                config[section].pop(key, None)
            else:
                config[section][key] = value
    return config


@pytest.fixture(scope="module")
def cal() -> LibraryCalendar:
    return LibraryCalendar.from_config(BASE)


# -- public holidays ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), "元旦"),
        (date(2026, 2, 17), "春节"),
        (date(2026, 4, 5), "清明节"),
        (date(2026, 5, 1), "劳动节"),
        (date(2026, 6, 19), "端午节"),
        (date(2026, 9, 25), "中秋节"),
        (date(2026, 10, 1), "国庆节"),
        # A Saturday inside the 国庆 block is a holiday, not just a weekend.
        (date(2026, 10, 3), "国庆节"),
        (date(2015, 9, 3), "抗战胜利70周年纪念日"),
        # Plain weekend, 调休 Saturday, ordinary Monday.
        (date(2026, 11, 21), None),
        (date(2026, 10, 10), None),
        (date(2026, 11, 23), None),
        # Beyond chinesecalendar: only the config lists count, and nothing crashes.
        (date(2027, 10, 1), None),
        (date(2031, 1, 1), None),
        (date(1999, 10, 1), None),
        (date(2027, 5, 1), "劳动节"),
        # Unnamed listed day after a named one inherits its name; an isolated one is generic.
        (date(2027, 5, 2), "劳动节"),
        (date(2027, 6, 9), "法定节假日"),
    ],
)
def test_public_holiday(cal: LibraryCalendar, day: date, expected: str | None) -> None:
    assert cal.public_holiday(day) == expected


@pytest.mark.parametrize(
    ("calendar", "day", "expected"),
    [
        # Config workdays win over chinesecalendar's holiday...
        ({"workdays": [date(2026, 10, 7)]}, date(2026, 10, 7), None),
        # ...and config holidays over its ordinary day, named by chinesecalendar if it can.
        ({"holidays": [date(2026, 10, 9)]}, date(2026, 10, 9), "法定节假日"),
        ({"holidays": [date(2026, 10, 1)]}, date(2026, 10, 1), "国庆节"),
        (
            {"holidays": [date(2026, 10, 9)], "names": {"2026-10-09": "校庆"}},
            date(2026, 10, 9),
            "校庆",
        ),
    ],
)
def test_config_lists_override_chinesecalendar(
    calendar: dict, day: date, expected: str | None
) -> None:
    cal = LibraryCalendar.from_config({"calendar": calendar})
    assert cal.public_holiday(day) == expected


@pytest.mark.parametrize(
    ("day", "makeup", "working"),
    [
        (date(2026, 10, 10), True, True),  # chinesecalendar 调休 Saturday
        (date(2026, 9, 20), True, True),  # chinesecalendar 调休 Sunday
        (date(2026, 2, 14), True, True),
        (date(2026, 11, 21), False, False),  # plain Saturday
        (date(2026, 10, 1), False, False),  # holiday Thursday
        (date(2026, 11, 23), False, True),  # plain Monday
        (date(2027, 4, 25), True, True),  # config workday, beyond chinesecalendar
        (date(2027, 4, 24), False, False),
        (date(2027, 5, 1), False, False),  # config holiday on a Saturday
        (date(2027, 10, 9), False, False),  # beyond chinesecalendar, unlisted: no crash
        (date(2027, 10, 8), False, True),
    ],
)
def test_makeup_and_working_days(
    cal: LibraryCalendar, day: date, makeup: bool, working: bool
) -> None:
    assert cal.is_makeup_workday(day) is makeup
    assert cal.is_working_day(day) is working


def test_weekday_config_workday_is_working_but_not_makeup() -> None:
    cal = LibraryCalendar.from_config({"calendar": {"workdays": [date(2026, 10, 7)]}})
    assert cal.is_working_day(date(2026, 10, 7))
    assert not cal.is_makeup_workday(date(2026, 10, 7))


# -- hours_on precedence --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "source", "hours", "note"),
    [
        # closure > special (12-31 has both), closure > config holiday (2027-01-01)
        (date(2026, 12, 31), "closure", None, "年终检修"),
        (date(2027, 1, 1), "closure", None, "年终检修"),
        (date(2026, 11, 27), "closure", None, ""),
        # special > holiday (10-02 is 国庆), special on an ordinary day, special "closed"
        (date(2026, 10, 2), "special", ("09:00", "12:00"), "校友返校日"),
        (date(2026, 11, 25), "special", ("07:00", "23:30"), "考试周延长开放"),
        (date(2026, 11, 26), "special", None, "消防演练"),
        # holiday > make-up workday > weekly
        (date(2026, 10, 1), "holiday", ("08:30", "17:00"), "国庆节"),
        (date(2027, 5, 1), "holiday", ("08:30", "17:00"), "劳动节"),
        (date(2026, 10, 10), "makeup_workday", ("07:30", "21:00"), ""),
        (date(2027, 4, 25), "makeup_workday", ("07:30", "21:00"), ""),
        (date(2026, 11, 23), "weekly", ("07:00", "22:30"), ""),
        (date(2026, 11, 21), "weekly", ("08:00", "22:00"), ""),
        (date(2027, 10, 1), "weekly", ("07:00", "22:30"), ""),
    ],
)
def test_hours_on_precedence(
    cal: LibraryCalendar, day: date, source: str, hours: tuple[str, str] | None, note: str
) -> None:
    h = cal.hours_on(day)
    expected = (
        (time.fromisoformat(hours[0]), time.fromisoformat(hours[1])) if hours else (None, None)
    )
    assert (h.day, h.source, (h.opens, h.closes), h.note) == (day, source, expected, note)
    assert h.is_open is (hours is not None)


@pytest.mark.parametrize(
    ("config", "day", "source", "hours"),
    [
        (config_with(hours={"holiday": "closed"}), date(2026, 10, 1), "holiday", None),
        # No hours.holiday: holidays keep the weekly hours but still say they are holidays.
        (config_with(hours={"holiday": None}), date(2026, 10, 1), "holiday", ("07:00", "22:30")),
        (config_with(hours={"holiday": None}), date(2026, 10, 3), "holiday", ("08:00", "22:00")),
        # No hours.makeup_workday: the weekend day's own weekly hours.
        (
            config_with(hours={"makeup_workday": None}),
            date(2026, 10, 10),
            "makeup_workday",
            ("08:00", "22:00"),
        ),
        (config_with(hours={"sunday": "closed"}), date(2026, 11, 22), "weekly", None),
        # An empty config: 08:00-22:00 every day.
        ({}, date(2026, 11, 22), "weekly", ("08:00", "22:00")),
        ({}, date(2026, 10, 1), "holiday", ("08:00", "22:00")),
    ],
)
def test_hours_variants(
    config: dict, day: date, source: str, hours: tuple[str, str] | None
) -> None:
    h = LibraryCalendar.from_config(config).hours_on(day)
    expected = (
        (time.fromisoformat(hours[0]), time.fromisoformat(hours[1])) if hours else (None, None)
    )
    assert (h.source, (h.opens, h.closes)) == (source, expected)


def test_week_is_seven_consecutive_days(cal: LibraryCalendar) -> None:
    days = cal.week(date(2026, 9, 28))
    assert [h.day for h in days] == [date(2026, 9, 28 + i) for i in range(3)] + [
        date(2026, 10, i) for i in range(1, 5)
    ]
    assert [h.source for h in days] == ["weekly"] * 3 + ["holiday", "special", "holiday", "holiday"]


def test_calendar_and_day_hours_are_frozen_and_hashable(cal: LibraryCalendar) -> None:
    assert hash(cal) == hash(LibraryCalendar.from_config(BASE))
    with pytest.raises(AttributeError):
        cal.hours_on(date(2026, 11, 23)).note = "x"  # type: ignore[misc]


# -- open at a moment, next opening ---------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 7, 0), True),  # opening minute
        (datetime(2026, 11, 23, 6, 59, 59), False),
        (datetime(2026, 11, 23, 22, 29, 59), True),
        (datetime(2026, 11, 23, 22, 30), False),  # closing minute
        (datetime(2026, 10, 1, 8, 30), True),
        (datetime(2026, 10, 1, 17, 0), False),
        (datetime(2026, 12, 31, 12, 0), False),  # closure beats the special hours
        (datetime(2026, 11, 23, 7, 0, tzinfo=SHANGHAI), True),
        # Aware moments are read on their own wall clock (Sunday 23:30 in UTC).
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), False),
    ],
)
def test_is_open_at(cal: LibraryCalendar, moment: datetime, expected: bool) -> None:
    assert cal.is_open_at(moment) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 6, 0), datetime(2026, 11, 23, 7, 0)),
        (datetime(2026, 11, 23, 22, 30), datetime(2026, 11, 24, 7, 0)),
        (datetime(2026, 11, 21, 22, 0), datetime(2026, 11, 22, 8, 0)),
        # Strictly after: at the opening minute the next opening is tomorrow's.
        (datetime(2026, 11, 23, 7, 0), datetime(2026, 11, 24, 7, 0)),
        # Across the 12-30..01-02 closure to Sunday 2027-01-03.
        (datetime(2026, 12, 29, 23, 0), datetime(2027, 1, 3, 8, 0)),
        # Past the 11-26 special closed day and the 11-27 closure.
        (datetime(2026, 11, 25, 23, 30), datetime(2026, 11, 28, 8, 0)),
        (
            datetime(2026, 9, 30, 23, 0, tzinfo=SHANGHAI),
            datetime(2026, 10, 1, 8, 30, tzinfo=SHANGHAI),
        ),
    ],
)
def test_next_opening(cal: LibraryCalendar, moment: datetime, expected: datetime) -> None:
    result = cal.next_opening(moment)
    assert result == expected
    assert result is not None and result.tzinfo is moment.tzinfo


def test_next_opening_none_beyond_horizon() -> None:
    config = config_with(
        hours={
            "closures": [{"start": date(2027, 1, 1), "end": date(2027, 12, 31), "reason": "改造"}]
        }
    )
    cal = LibraryCalendar.from_config(config)
    assert cal.next_opening(datetime(2027, 1, 1, 9, 0)) is None
    assert cal.next_opening(datetime(2027, 1, 1, 9, 0), horizon_days=400) == datetime(
        2028, 1, 1, 8, 0
    )


# -- librarians' duty -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 8, 0), True),
        (datetime(2026, 11, 23, 7, 59), False),
        (datetime(2026, 11, 23, 17, 29, 59), True),
        (datetime(2026, 11, 23, 17, 30), False),
        (datetime(2026, 11, 21, 9, 0), True),  # weekend_duty
        (datetime(2026, 11, 21, 8, 59), False),
        (datetime(2026, 11, 21, 17, 0), False),
        (datetime(2026, 10, 10, 8, 0), True),  # 调休 Saturday: weekday duty
        (datetime(2026, 10, 10, 17, 15), True),
        (datetime(2026, 10, 1, 10, 0), False),  # public holiday
        (datetime(2026, 10, 3, 10, 0), False),  # holiday Saturday, despite weekend_duty
        (datetime(2027, 5, 1, 10, 0), False),  # config holiday
        (datetime(2026, 11, 27, 10, 0), False),  # closure
        (datetime(2026, 11, 26, 10, 0), True),  # special closed day: librarians still answer
    ],
)
def test_on_duty(cal: LibraryCalendar, moment: datetime, expected: bool) -> None:
    assert cal.on_duty(moment) is expected


@pytest.mark.parametrize(
    ("config", "moment", "expected"),
    [
        (BASE, datetime(2026, 11, 20, 17, 30), datetime(2026, 11, 21, 9, 0)),
        (
            config_with(handoff={"weekend_duty": "closed"}),
            datetime(2026, 11, 20, 17, 30),
            datetime(2026, 11, 23, 8, 0),
        ),
        ({}, datetime(2026, 11, 20, 17, 30), datetime(2026, 11, 23, 8, 0)),  # default: closed
        # Over 国庆 (10-01..07) to Thursday 10-08.
        (BASE, datetime(2026, 9, 30, 17, 30), datetime(2026, 10, 8, 8, 0)),
        (BASE, datetime(2026, 11, 23, 7, 0), datetime(2026, 11, 23, 8, 0)),
    ],
)
def test_next_duty_start(config: dict, moment: datetime, expected: datetime) -> None:
    assert LibraryCalendar.from_config(config).next_duty_start(moment) == expected


def test_default_handoff_has_no_weekend_duty() -> None:
    cal = LibraryCalendar.from_config({})
    assert cal.on_duty(datetime(2026, 11, 23, 8, 0))
    assert not cal.on_duty(datetime(2026, 11, 21, 10, 0))


# -- config errors --------------------------------------------------------------------------

CLOSURE = {"start": date(2026, 12, 30), "end": date(2026, 12, 31), "reason": "检修"}
SPECIAL = {"date": date(2026, 12, 24), "hours": "07:00-20:00"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"hours": {"monday": "7-22"}},
            "hours.monday: expected 'HH:MM-HH:MM' or 'closed', got '7-22'",
        ),
        ({"hours": {"holiday": 8}}, "hours.holiday: expected 'HH:MM-HH:MM' or 'closed', got 8"),
        (
            {"hours": {"tuesday": "22:00-07:00"}},
            "hours.tuesday: closing time 07:00 is not after opening time 22:00 in '22:00-07:00'",
        ),
        (
            {"hours": {"friday": "08:00-24:00"}},
            "hours.friday: 24:00 is not a time of day in '08:00-24:00'",
        ),
        (
            {"hours": {"mon": "07:00-22:00"}},
            "hours.mon: unknown key (expected one of closures, friday, holiday, makeup_workday, "
            "monday, saturday, special, sunday, thursday, tuesday, wednesday)",
        ),
        ({"hours": "07:00-22:00"}, "hours: expected a table, got '07:00-22:00'"),
        (
            {"hours": {"special": [{"date": "2026-12-24", "hours": "07:00-20:00"}]}},
            "hours.special[0].date: expected a TOML date like 2026-12-24, got '2026-12-24'",
        ),
        ({"hours": {"special": [{"date": date(2026, 12, 24)}]}}, "hours.special[0].hours: missing"),
        (
            {"hours": {"special": [SPECIAL, {**SPECIAL, "hours": "closed"}]}},
            "hours.special[1].date: 2026-12-24 already has special hours",
        ),
        (
            {"hours": {"special": [{**SPECIAL, "notes": "x"}]}},
            "hours.special[0].notes: unknown key (expected one of date, hours, note)",
        ),
        (
            {"hours": {"closures": [CLOSURE, {**CLOSURE, "end": date(2026, 12, 1)}]}},
            "hours.closures[1]: end 2026-12-01 is before start 2026-12-30",
        ),
        (
            {"hours": {"closures": [{**CLOSURE, "start": datetime(2026, 12, 30, 8, 0)}]}},
            "hours.closures[0].start: expected a TOML date like 2026-12-24, "
            "got datetime.datetime(2026, 12, 30, 8, 0)",
        ),
        (
            {"hours": {"closures": [{"start": date(2026, 12, 30)}]}},
            "hours.closures[0].end: missing",
        ),
        ({"hours": {"closures": CLOSURE}}, "hours.closures: expected an array"),
        (
            {"calendar": {"holidays": [date(2027, 1, 1), "2027-01-02"]}},
            "calendar.holidays[1]: expected a TOML date like 2026-12-24, got '2027-01-02'",
        ),
        (
            {"calendar": {"holidays": [date(2027, 2, 14)], "workdays": [date(2027, 2, 14)]}},
            "calendar.workdays[0]: 2027-02-14 is also listed in calendar.holidays",
        ),
        (
            {"calendar": {"holidays": [date(2027, 1, 1)], "names": {"2027-01-02": "元旦"}}},
            "calendar.names.2027-01-02: 2027-01-02 is not listed in calendar.holidays",
        ),
        (
            {"calendar": {"holidays": [date(2027, 1, 1)], "names": {"1月1日": "元旦"}}},
            'calendar.names.1月1日: expected a date key like "2027-01-01"',
        ),
        (
            {"calendar": {"holiday": [date(2027, 1, 1)]}},
            "calendar.holiday: unknown key (expected one of holidays, names, workdays)",
        ),
        (
            {"handoff": {"duty": "9-5"}},
            "handoff.duty: expected 'HH:MM-HH:MM' or 'closed', got '9-5'",
        ),
        (
            {"handoff": {"weekend_duty": "18:00-09:00"}},
            "handoff.weekend_duty: closing time 09:00 is not after opening time 18:00 "
            "in '18:00-09:00'",
        ),
    ],
)
def test_config_errors(config: dict, message: str) -> None:
    with pytest.raises(CalendarConfigError, match=re.escape(message)) as caught:
        LibraryCalendar.from_config(config)
    assert isinstance(caught.value, ValueError)


# -- the example config ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "source", "note"),
    [
        (date(2026, 12, 24), "special", "平安夜闭馆较早，馆内举办读书分享会"),
        (date(2026, 12, 31), "closure", "年终设备检修"),
        (date(2027, 1, 1), "holiday", "元旦"),  # from the config list
        (date(2026, 10, 1), "holiday", "国庆节"),  # from chinesecalendar
        (date(2026, 10, 10), "makeup_workday", ""),  # chinesecalendar's 调休 Saturday
        (date(2027, 2, 14), "closure", "寒假闭馆"),  # a make-up workday inside winter break
        (date(2027, 2, 22), "weekly", ""),
    ],
)
def test_example_config(day: date, source: str, note: str) -> None:
    with EXAMPLE_CONFIG.open("rb") as file:
        cal = LibraryCalendar.from_config(tomllib.load(file))
    h = cal.hours_on(day)
    assert (h.source, h.note) == (source, note)


def test_example_config_calendar_lists() -> None:
    with EXAMPLE_CONFIG.open("rb") as file:
        cal = LibraryCalendar.from_config(tomllib.load(file))
    assert cal.is_makeup_workday(date(2027, 2, 14))
    assert cal.is_working_day(date(2027, 2, 20))
    assert cal.public_holiday(date(2027, 2, 5)) == "春节"
    assert cal.public_holiday(date(2027, 2, 12)) == "春节"  # inherits the block's name
    assert cal.public_holiday(date(2027, 10, 1)) is None
    assert cal.hours_on(date(2026, 12, 24)).closes == time(20, 0)
    assert cal.hours_on(date(2027, 1, 1)).opens == time(8, 30)
    assert cal.next_opening(datetime(2027, 1, 24, 10, 0)) == datetime(2027, 2, 22, 7, 0)
    assert cal.on_duty(datetime(2026, 11, 21, 9, 0))  # weekend_duty is set


# -- words ----------------------------------------------------------------------------------

TODAY = date(2026, 9, 30)  # a Wednesday before 国庆


@pytest.mark.parametrize(
    ("h", "expected"),
    [
        (
            DayHours(date(2026, 9, 30), time(7, 0), time(22, 30), "weekly", ""),
            "今天（9月30日 周三）开馆 07:00–22:30",
        ),
        (
            DayHours(date(2026, 10, 1), time(8, 30), time(17, 0), "holiday", "国庆节"),
            "明天（10月1日 周四）国庆节，开馆 08:30–17:00",
        ),
        (
            DayHours(date(2026, 10, 2), None, None, "holiday", "国庆节"),
            "后天（10月2日 周五）国庆节，闭馆",
        ),
        (
            DayHours(date(2026, 10, 3), None, None, "closure", "寒假闭馆"),
            "10月3日（周六）闭馆：寒假闭馆",
        ),
        (DayHours(date(2026, 10, 1), None, None, "closure", ""), "明天（10月1日 周四）闭馆"),
        (
            DayHours(date(2026, 10, 10), time(7, 0), time(22, 30), "makeup_workday", ""),
            "10月10日（周六）调休工作日，开馆 07:00–22:30",
        ),
        (
            DayHours(date(2026, 9, 30), time(7, 0), time(20, 0), "special", "读书分享会"),
            "今天（9月30日 周三）开馆 07:00–20:00（读书分享会）",
        ),
        (DayHours(date(2026, 10, 4), None, None, "weekly", ""), "10月4日（周日）闭馆"),
    ],
)
def test_describe_day(h: DayHours, expected: str) -> None:
    assert describe_day(h, TODAY) == expected


def test_describe_week(cal: LibraryCalendar) -> None:
    assert describe_week(cal.week(date(2026, 9, 28))) == "\n".join(
        [
            "周一 09/28  07:00–22:30",
            "周二 09/29  07:00–22:30",
            "周三 09/30  07:00–22:30",
            "周四 10/01  08:30–17:00（国庆节）",
            "周五 10/02  09:00–12:00（校友返校日）",
            "周六 10/03  08:30–17:00（国庆节）",
            "周日 10/04  08:30–17:00（国庆节）",
        ]
    )
    assert describe_week(cal.week(date(2026, 11, 23))).splitlines()[3:5] == [
        "周四 11/26  闭馆（消防演练）",
        "周五 11/27  闭馆",
    ]
    assert "周六 10/10  07:30–21:00（调休）" in describe_week(cal.week(date(2026, 10, 5)))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 12, 0), "现在开馆中，今天 22:30 闭馆"),
        (datetime(2026, 11, 23, 6, 30), "现在闭馆，下次开馆：今天 07:00"),
        (datetime(2026, 11, 23, 22, 30), "现在闭馆，下次开馆：明天 07:00"),
        (datetime(2026, 11, 25, 23, 45), "现在闭馆，下次开馆：11月28日（周六）08:00"),
        (datetime(2026, 11, 26, 10, 0), "现在闭馆（消防演练），下次开馆：后天 08:00"),
        (datetime(2026, 12, 30, 9, 0), "现在闭馆（年终检修），下次开馆：1月3日（周日）08:00"),
        (datetime(2026, 10, 1, 18, 0, tzinfo=SHANGHAI), "现在闭馆，下次开馆：明天 09:00"),
    ],
)
def test_describe_now(cal: LibraryCalendar, moment: datetime, expected: str) -> None:
    assert describe_now(cal, moment) == expected


def test_describe_now_without_any_opening() -> None:
    config = {
        "hours": {
            "closures": [{"start": date(2027, 1, 1), "end": date(2027, 12, 31), "reason": "改造"}]
        }
    }
    cal = LibraryCalendar.from_config(config)
    assert describe_now(cal, datetime(2027, 3, 1, 9, 0)) == (
        "现在闭馆（改造），近期暂无开馆安排，请留意图书馆通知"
    )
