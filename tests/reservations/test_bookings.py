"""Bookings: the rules at their edges, and a database that refuses overlaps by itself."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import TZ
from bot.core.db import connect, migrate
from handlers.library.calendar import LibraryCalendar
from handlers.reservations import availability, bookings, presence, store, violations
from handlers.reservations.spaces import from_config
from handlers.reservations.store import BookingError, Reader, Wish
from tests.conftest import ROOT

LIBRARY = tomllib.loads((ROOT / "config" / "library.example.toml").read_text(encoding="utf-8"))
SPACES = from_config(LIBRARY)
CALENDAR = LibraryCalendar.from_config(LIBRARY)
MONDAY = date(2026, 11, 23)
STUDENT = Reader("mp", "oStudent")
TEACHER = Reader("work", "zhangls", "teacher")


def moment(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


@pytest.fixture
def db(tmp_path: Path) -> Any:
    path = tmp_path / "b.sqlite3"
    migrate(path, [store.migrations])
    return connect(path)


def seat(day: date = MONDAY, start: str = "09:00", end: str = "11:00", **kw: Any) -> Wish:
    return Wish("seat", day, time.fromisoformat(start), time.fromisoformat(end), **kw)


def book(db: Any, wish: Wish, now: datetime, reader: Reader = STUDENT) -> dict[str, Any]:
    return bookings.book(db, SPACES, CALENDAR, reader, wish, now)


def refused(db: Any, wish: Wish, now: datetime, reader: Reader = STUDENT) -> str:
    with pytest.raises(BookingError) as error:
        book(db, wish, now, reader)
    return error.value.reason


def test_a_booking_takes_the_first_free_seat_and_gets_a_ref(db: Any) -> None:
    made = book(db, seat(), moment(MONDAY, "08:00"))
    assert (made["space_id"], made["status"], made["ref"]) == ("A001", "booked", "YY000001")
    again = book(db, seat(), moment(MONDAY, "08:00"), Reader("mp", "oOther"))
    assert again["space_id"] == "A002"


def test_the_database_refuses_an_overlap_even_by_five_minutes(db: Any) -> None:
    book(db, seat(space_id="A010"), moment(MONDAY, "08:00"))
    for start, end in (("10:30", "12:30"), ("08:00", "09:30"), ("09:00", "11:00")):
        assert (
            refused(
                db,
                seat(start=start, end=end, space_id="A010"),
                moment(MONDAY, "07:30"),
                Reader("mp", f"o{start}"),
            )
            == "taken"
        )
    # Back to back is fine.
    assert book(
        db,
        seat(start="11:00", end="12:00", space_id="A010"),
        moment(MONDAY, "08:00"),
        Reader("mp", "oNext"),
    )
    # And the constraint holds without the Python check: a raw insert of a taken unit fails.
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO booking_slots VALUES ('A010', '2026-11-23', 110, 99)")


def test_a_reader_cannot_hold_two_overlapping_bookings(db: Any) -> None:
    book(db, seat(), moment(MONDAY, "08:00"))
    assert refused(db, seat(start="10:00", end="12:00"), moment(MONDAY, "08:00")) == "overlap"
    room = Wish("discussion_room", MONDAY, time(10), time(11), party_size=4)
    assert refused(db, room, moment(MONDAY, "08:00")) == "overlap"


@pytest.mark.parametrize(
    ("now", "allowed"),
    [("05:59", False), ("06:00", True)],
)
def test_tomorrows_seats_open_at_the_release_minute(db: Any, now: str, allowed: bool) -> None:
    tomorrow = seat(day=MONDAY + timedelta(days=1))
    if allowed:
        assert book(db, tomorrow, moment(MONDAY, now))
    else:
        assert refused(db, tomorrow, moment(MONDAY, now)) == "too_early"
    assert refused(db, seat(day=MONDAY + timedelta(days=2)), moment(MONDAY, "12:00")) == "too_far"


def test_opening_hours_closures_and_holidays_bound_bookings(db: Any) -> None:
    # Monday opens 07:00–22:30.
    assert refused(db, seat(start="06:30", end="08:00"), moment(MONDAY, "06:00")) == "outside_hours"
    assert refused(db, seat(start="21:30", end="23:00"), moment(MONDAY, "08:00")) == "outside_hours"
    assert book(db, seat(start="21:30", end="22:30"), moment(MONDAY, "08:00"))
    closed = date(2026, 12, 31)  # 年终设备检修 in the example config
    assert refused(db, seat(day=closed), moment(closed - timedelta(days=1), "08:00")) == "closed"


def test_length_slots_and_past_times(db: Any) -> None:
    now = moment(MONDAY, "08:00")
    assert refused(db, seat(start="09:00", end="09:30"), now) == "too_short"
    assert refused(db, seat(start="09:00", end="17:30"), now) == "too_long"
    assert refused(db, seat(start="09:10", end="11:10"), now) == "bad_time"
    assert refused(db, seat(start="07:00", end="08:00"), now) == "past"


def test_daily_limit(db: Any) -> None:
    now = moment(MONDAY, "07:00")
    book(db, seat(start="08:00", end="09:00"), now)
    book(db, seat(start="10:00", end="11:00"), now)
    assert refused(db, seat(start="12:00", end="13:00"), now) == "day_limit"


def test_research_rooms_are_for_teachers(db: Any) -> None:
    wish = Wish("research_room", MONDAY, time(12), time(13))
    assert refused(db, wish, moment(MONDAY, "08:00")) == "not_allowed"
    assert book(db, wish, moment(MONDAY, "08:00"), TEACHER)["space_id"] == "R501"


def test_rooms_fit_the_group(db: Any) -> None:
    now = moment(MONDAY, "08:00")
    four = book(db, Wish("discussion_room", MONDAY, time(14), time(16), party_size=4), now)
    assert four["space_id"] in ("T201", "T202", "T301")
    big = Wish("discussion_room", MONDAY, time(14), time(16), party_size=7, space_id="T201")
    assert refused(db, big, now, Reader("mp", "oBig")) == "group_size"


def test_alternatives_offer_another_space_or_another_time(db: Any) -> None:
    now = moment(MONDAY, "08:00")
    wish = Wish("discussion_room", MONDAY, time(14), time(16), party_size=9)
    book(db, wish, now)  # T405 is the only room for 9
    assert refused(db, wish, now, Reader("mp", "oSecond")) == "taken"
    offers = availability.alternatives(db, SPACES, CALENDAR, wish)
    assert offers and all(o.space_id == "T405" for o in offers)
    assert {(o.start, o.end) for o in offers} >= {(time(12), time(14)), (time(16), time(18))}


def test_check_in_window_step_out_and_release(db: Any) -> None:
    made = book(db, seat(start="09:00", end="11:00", space_id="A005"), moment(MONDAY, "08:00"))
    with pytest.raises(BookingError):
        presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "08:49"))
    with pytest.raises(BookingError) as wrong:
        presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "08:50"), space_id="A006")
    assert wrong.value.reason == "wrong_space"
    assert (
        presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "08:50"), "a005")["status"]
        == "checked_in"
    )
    away, allowed = presence.step_out(db, SPACES, STUDENT, moment(MONDAY, "09:30"))
    assert (away["status"], allowed) == ("away", 30)
    assert presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "09:50"))["status"] == "checked_in"
    released = presence.release(db, SPACES, STUDENT, moment(MONDAY, "10:01"))
    assert released["status"] == "released"
    # The rest (from 10:05) is free for someone else.
    other = Reader("mp", "oLater")
    later = seat(start="10:30", end="11:30", space_id="A005")
    assert book(db, later, moment(MONDAY, "10:02"), other)["space_id"] == "A005"
    assert made["id"] == released["id"]


def test_a_seat_left_early_is_not_offered_for_the_minutes_it_was_held(db: Any) -> None:
    # A001 is held 09:00–10:05 (left at 10:01); 10:00–11:00 overlaps those slot rows, so the
    # booking goes to the next seat rather than failing on A001 again and again.
    book(db, seat(start="09:00", end="11:00"), moment(MONDAY, "08:00"))
    presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "08:55"))
    presence.release(db, SPACES, STUDENT, moment(MONDAY, "10:01"))
    other = book(db, seat(start="10:00", end="11:00"), moment(MONDAY, "10:02"), Reader("mp", "o2"))
    assert other["space_id"] != "A001"
    assert book(db, seat(start="10:30", end="11:30", space_id="A001"), moment(MONDAY, "10:02"))


def test_the_last_minute_of_the_grace_period_and_a_no_show(db: Any) -> None:
    book(db, seat(start="09:00", end="11:00"), moment(MONDAY, "08:00"))
    assert presence.settle(db, SPACES, moment(MONDAY, "09:14"))["no_show"] == []
    assert presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "09:14"))["status"] == "checked_in"
    other = Reader("mp", "oLate")
    late = book(db, seat(start="09:00", end="11:00"), moment(MONDAY, "08:00"), other)
    [released] = presence.settle(db, SPACES, moment(MONDAY, "09:15"))["no_show"]
    assert released["id"] == late["id"]
    assert store.get(db, late["id"])["status"] == "no_show"  # type: ignore[index]
    # Freed: another reader can take that seat now.
    third = Reader("mp", "oThird")
    assert book(
        db,
        seat(start="09:30", end="11:00", space_id=late["space_id"]),
        moment(MONDAY, "09:16"),
        third,
    )


def test_overstaying_step_out_is_a_violation_with_longer_meal_time(db: Any) -> None:
    book(db, seat(start="11:00", end="15:00"), moment(MONDAY, "08:00"))
    presence.check_in(db, SPACES, STUDENT, moment(MONDAY, "11:00"))
    _, allowed = presence.step_out(db, SPACES, STUDENT, moment(MONDAY, "11:30"))
    assert allowed == 60  # lunch
    assert presence.settle(db, SPACES, moment(MONDAY, "12:29"))["overstay"] == []
    assert len(presence.settle(db, SPACES, moment(MONDAY, "12:30"))["overstay"]) == 1


def test_three_violations_in_30_days_suspend_for_7_days_and_a_waiver_lifts_it(db: Any) -> None:
    days = [MONDAY - timedelta(days=d) for d in (20, 10, 0)]
    for day in days:
        book(db, seat(day=day), moment(day, "08:00"))
        presence.settle(db, SPACES, moment(day, "09:15"))
    now = moment(MONDAY, "09:20")
    until = violations.suspended_until(db, SPACES, STUDENT, now)
    assert until == moment(MONDAY, "09:15") + timedelta(days=7)
    assert refused(db, seat(day=MONDAY, start="12:00", end="13:00"), now) == "suspended"
    [(violation_id,)] = db.execute("SELECT id FROM violations ORDER BY id LIMIT 1").fetchall()
    assert violations.waive(db, violation_id, "ann", "校园卡系统故障", now)
    assert violations.suspended_until(db, SPACES, STUDENT, now) is None
    with pytest.raises(BookingError):
        violations.waive(db, violation_id + 1, "ann", "  ", now)


def test_cancel_frees_the_space(db: Any) -> None:
    made = book(db, seat(space_id="A020"), moment(MONDAY, "08:00"))
    bookings.cancel(db, made, "reader", "不去了", moment(MONDAY, "08:10"))
    assert (
        book(db, seat(space_id="A020"), moment(MONDAY, "08:11"), Reader("mp", "oNew"))["space_id"]
        == "A020"
    )
