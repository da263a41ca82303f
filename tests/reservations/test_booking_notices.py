"""The minute job and the notices: reminders, the check-in warning, no-shows and overstays
released with a violation, suspension, staff cancellations and closures — each through the
outbox, once, at the right minute (injected clock)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest

from bot.core import outbox
from bot.core.clock import TZ
from bot.outbound.scheduler import all_jobs
from handlers.registry import CAPABILITIES
from handlers.reservations import bookings, presence, store, words
from handlers.reservations import notices as booking_notices
from handlers.reservations import staff as space_staff
from handlers.reservations.spaces import spaces_of
from handlers.reservations.store import BookingError, Reader, Wish
from tests.conftest import Clock

SUNDAY = date(2026, 11, 22)
ALICE = Reader("mp", "oAlice")
BOB = Reader("mp", "oBob")


def at(hhmm: str, day: date = SUNDAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("06:30"))


@pytest.fixture
def services(make_app: Any, clock: Clock) -> Any:
    return make_app(clock=clock).extensions["guanban"].services


def wish(start: str, end: str, kind: str = "seat", **kw: Any) -> Wish:
    return Wish(kind, SUNDAY, time.fromisoformat(start), time.fromisoformat(end), **kw)


def book(services: Any, reader: Reader, w: Wish) -> dict[str, Any]:
    return bookings.book(
        services.db(), spaces_of(services), services.calendar, reader, w, services.now()
    )


def notices(services: Any, reader: Reader = ALICE) -> list[tuple[str, str]]:
    return [
        (row["kind"], row["payload"]["content"])
        for row in outbox.for_recipient(services.db(), reader.channel, reader.user_id)
    ]


def tick_at(services: Any, clock: Clock, hhmm: str, day: date = SUNDAY) -> None:
    clock.now = at(hhmm, day)
    booking_notices.tick(services)


def test_the_job_is_registered_to_run_every_minute() -> None:
    job = all_jobs(CAPABILITIES)["reservations.tick"]
    assert (job.trigger, dict(job.schedule)) == ("interval", {"minutes": 1})


def test_a_reminder_goes_out_fifteen_minutes_before_once(services: Any, clock: Clock) -> None:
    book(services, ALICE, wish("08:00", "10:00"))
    tick_at(services, clock, "07:44")
    assert notices(services) == []
    tick_at(services, clock, "07:45")
    tick_at(services, clock, "07:46")
    [(kind, text)] = notices(services)
    assert kind == "booking.reminder"
    assert text == words.REMINDER.format(
        booking="今天（11月22日 周日）08:00–10:00 A001 号座（三楼考研自习区）",
        minutes=15,
        deadline="08:15",
    )


def test_a_notice_carries_the_fields_a_template_message_needs(services: Any, clock: Clock) -> None:
    made = book(services, ALICE, wish("08:00", "10:00"))
    tick_at(services, clock, "07:45")
    [row] = outbox.for_recipient(services.db(), ALICE.channel, ALICE.user_id)
    assert row["payload"]["fields"] == {
        "ref": made["ref"],
        "space": "A001",
        "day": "11月22日",
        "time": "11月22日 08:00–10:00",
        "notice": row["payload"]["content"],
    }


def test_a_booking_made_within_the_lead_time_gets_no_reminder(services: Any, clock: Clock) -> None:
    clock.now = at("07:50")
    book(services, ALICE, wish("08:00", "10:00"))
    tick_at(services, clock, "07:51")
    assert notices(services) == []


def test_a_warning_before_the_check_in_closes_then_a_no_show(services: Any, clock: Clock) -> None:
    made = book(services, ALICE, wish("08:00", "10:00"))
    tick_at(services, clock, "08:09")
    assert [k for k, _ in notices(services)] == []
    tick_at(services, clock, "08:10")
    assert [k for k, _ in notices(services)] == ["booking.check_in_warning"]
    tick_at(services, clock, "08:14")  # the last minute of the grace period: still held
    assert store.get(services.db(), made["id"])["status"] == "booked"
    tick_at(services, clock, "08:15")
    assert store.get(services.db(), made["id"])["status"] == "no_show"
    kinds = [k for k, _ in notices(services)]
    assert kinds == ["booking.check_in_warning", "booking.no_show"]
    text = notices(services)[-1][1]
    assert "未在 08:15 前签到" in text and "近 30 天第 1 次" in text
    tick_at(services, clock, "08:16")
    assert len(notices(services)) == 2
    # Back in the pool: Bob gets that seat for the rest of the morning.
    assert book(services, BOB, wish("08:30", "10:00", space_id="A001"))["space_id"] == "A001"


def test_a_checked_in_reader_gets_no_warning(services: Any, clock: Clock) -> None:
    book(services, ALICE, wish("08:00", "10:00"))
    clock.now = at("08:05")
    presence.check_in(services.db(), spaces_of(services), ALICE, clock.now)
    tick_at(services, clock, "08:10")
    tick_at(services, clock, "08:20")
    assert notices(services) == []


def test_overstaying_step_out_releases_with_a_violation(services: Any, clock: Clock) -> None:
    made = book(services, ALICE, wish("08:00", "11:00"))
    clock.now = at("08:00")
    presence.check_in(services.db(), spaces_of(services), ALICE, clock.now)
    clock.now = at("09:00")
    presence.step_out(services.db(), spaces_of(services), ALICE, clock.now)
    tick_at(services, clock, "09:29")
    assert store.get(services.db(), made["id"])["status"] == "away"
    tick_at(services, clock, "09:30")
    assert store.get(services.db(), made["id"])["status"] == "released"
    [(kind, text)] = notices(services)
    assert kind == "booking.overstay" and "超过 30 分钟" in text


def test_the_third_violation_suspends_and_says_until_when(services: Any, clock: Clock) -> None:
    db = services.db()
    for day in (18, 19):
        db.execute(
            "INSERT INTO violations (channel, user_id, kind, at) VALUES ('mp', 'oAlice', "
            "'no_show', ?)",
            [f"2026-11-{day}T09:15:00+08:00"],
        )
    book(services, ALICE, wish("08:00", "10:00"))
    tick_at(services, clock, "08:15")
    text = notices(services)[-1][1]
    assert "近 30 天第 3 次" in text
    assert text.endswith(words.SUSPENDED.format(limit=3, until="11月29日 08:15"))
    with pytest.raises(BookingError) as error:
        book(services, ALICE, wish("14:00", "16:00"))
    assert error.value.reason == "suspended"
    # Staff waive one, with a reason: Alice may book again.
    [latest] = list(db.query("SELECT id FROM violations ORDER BY at DESC LIMIT 1"))
    with pytest.raises(BookingError):
        space_staff.waive_violation(services, latest["id"], "staff:wang", "  ")
    assert space_staff.waive_violation(services, latest["id"], "staff:wang", "学校停电，非本人原因")
    assert book(services, ALICE, wish("14:00", "16:00"))["status"] == "booked"


def test_staff_cancel_tells_the_reader_why(services: Any, clock: Clock) -> None:
    made = book(services, ALICE, wish("14:00", "16:00"))
    with pytest.raises(BookingError) as error:
        space_staff.cancel_booking(services, made["id"], "staff:wang", "")
    assert error.value.reason == "reason_required"
    space_staff.cancel_booking(services, made["id"], "staff:wang", "座位临时用于考试")
    assert store.get(services.db(), made["id"])["cancelled_by"] == "staff:wang"
    [(kind, text)] = notices(services)
    assert kind == "booking.staff_cancelled"
    assert text == words.STAFF_CANCELLED.format(
        booking="今天（11月22日 周日）14:00–16:00 A001 号座（三楼考研自习区）",
        reason="座位临时用于考试",
    )
    with pytest.raises(BookingError) as error:
        space_staff.cancel_booking(services, made["id"], "staff:wang", "again")
    assert error.value.reason == "not_cancellable"


def test_a_closure_cancels_notifies_with_alternatives_and_refuses_new_bookings(
    services: Any, clock: Clock
) -> None:
    made = book(services, ALICE, wish("14:00", "16:00", "discussion_room", party_size=4))
    assert made["space_id"] == "T201"
    result = space_staff.close_space(
        services, "T201", at("13:00"), at("18:00"), "空调维修", "staff:wang"
    )
    assert [b["id"] for b in result["affected"]] == [made["id"]]
    assert store.get(services.db(), made["id"])["status"] == "cancelled"
    [(kind, text)] = notices(services)
    assert kind == "booking.closed"
    assert "201 研讨间在 11月22日 13:00–18:00 暂停开放（空调维修）" in text
    assert "约T202 11月22日 14:00到16:00 4人" in text
    with pytest.raises(BookingError) as error:
        book(
            services, BOB, wish("15:00", "16:00", "discussion_room", party_size=4, space_id="T201")
        )
    assert error.value.reason == "closed_space"
    # Without naming it, the free room is another one.
    assert (
        book(services, BOB, wish("15:00", "16:00", "discussion_room", party_size=4))["space_id"]
        == "T202"
    )
    # Lifted early: T201 can be booked again.
    assert space_staff.lift_closure(services, result["closure"]["id"], "staff:wang")
    assert (
        book(
            services,
            Reader("mp", "oCarol"),
            wish("16:00", "17:00", "discussion_room", party_size=3),
        )["space_id"]
        == "T201"
    )


def test_closure_bad_input_is_refused_precisely(services: Any) -> None:
    cases = [
        ("Z9", at("13:00"), at("18:00"), "x", "unknown_space"),
        ("T201", at("18:00"), at("13:00"), "x", "bad_period"),
        ("T201", at("13:00"), at("18:00"), " ", "reason_required"),
        ("T201", at("01:00"), at("02:00"), "x", "bad_period"),
    ]
    for space_id, starts, ends, reason, expected in cases:
        with pytest.raises(BookingError) as error:
            space_staff.close_space(services, space_id, starts, ends, reason, "staff:wang")
        assert error.value.reason == expected


def test_a_closure_from_now_ends_a_booking_in_use(services: Any, clock: Clock) -> None:
    made = book(services, ALICE, wish("08:00", "12:00"))
    clock.now = at("08:00")
    presence.check_in(services.db(), spaces_of(services), ALICE, clock.now)
    clock.now = at("09:00")
    space_staff.close_space(services, "A001", at("10:00"), at("12:00"), "漏水维修", "staff:wang")
    row = store.get(services.db(), made["id"])
    assert (row["status"], row["end"]) == ("checked_in", "10:00")
    assert "将提前结束" in notices(services)[0][1]


def test_the_demo_books_seats_and_rooms_once(services: Any) -> None:
    from handlers.reservations.demo import DEMO_ROOMS, DEMO_SEATS, seed_bookings

    assert seed_bookings(services) == DEMO_SEATS + DEMO_ROOMS  # today from 08:00, tomorrow
    assert seed_bookings(services) == 0
    days = services.db().execute("SELECT DISTINCT day FROM bookings ORDER BY day").fetchall()
    assert days == [("2026-11-22",), ("2026-11-23",)]
