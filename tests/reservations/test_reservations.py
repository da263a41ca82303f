"""Reservations in chat, through the webhook with the real NLU and an injected clock: the
booking form at the rules' edges, alternatives, listing and cancelling, check-in by scan or
「签到」, 暂离 and 退座 — and that no reader learns who holds a seat."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from bot.core.clock import TZ
from bot.dev.callback_client import WeChatPeer
from handlers.kit import forms
from handlers.reservations import bookings, store, words
from handlers.reservations.spaces import spaces_of
from handlers.reservations.store import Reader, Wish
from tests.conftest import Clock
from tests.wechat.test_router import say, send

# Saturday 2026-11-21; tomorrow's seats open at 06:00 (config/library.example.toml).
SATURDAY = datetime(2026, 11, 21, 7, 0, tzinfo=TZ)
READER = "oReader"


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+08:00")


@pytest.fixture
def clock() -> Clock:
    return Clock(SATURDAY)


@pytest.fixture
def app(make_app: Any, clock: Clock) -> Any:
    return make_app(clock=clock)


@pytest.fixture
def services(app: Any) -> Any:
    return app.extensions["guanban"].services


@pytest.fixture
def chat(app: Any, mp_peer: WeChatPeer) -> Any:
    client = app.test_client()
    return lambda text, user=READER: say(client, mp_peer, text, user)


@pytest.fixture
def scan(app: Any, mp_peer: WeChatPeer) -> Any:
    client = app.test_client()
    # Each scan its own CreateTime: WeChat's retries repeat it, and the bot drops repeats.
    times = itertools.count(1_790_000_000)

    def scan(scene: str, user: str = READER) -> str:
        return send(client, mp_peer, mp_peer.event(user, "SCAN", scene, next(times)))

    return scan


def active(services: Any, user: str = READER) -> list[dict[str, Any]]:
    return store.of_reader(services.db(), Reader("mp", user), services.now())


def book_for(services: Any, user: str, wish: Wish) -> dict[str, Any]:
    return bookings.book(
        services.db(),
        spaces_of(services),
        services.calendar,
        Reader("mp", user),
        wish,
        services.now(),
    )


def room(day: str, start: str, end: str, party: int, space_id: str = "") -> Wish:
    return Wish(
        "discussion_room",
        datetime.fromisoformat(day).date(),
        datetime.strptime(start, "%H:%M").time(),
        datetime.strptime(end, "%H:%M").time(),
        party_size=party,
        space_id=space_id,
    )


# -- the form -----------------------------------------------------------------------------------


def test_a_seat_is_booked_only_after_the_confirmation(chat: Any, services: Any) -> None:
    reply = chat("明天上午八点到十二点约个座位")
    assert reply.startswith(
        words.CONFIRM_SEAT.format(when="明天（11月22日 周日）08:00–12:00", features="", count=1000)
    )
    assert forms.ASK_CONFIRM in reply
    assert active(services) == []
    reply = chat("确认")
    assert reply.startswith("预约成功✅ 预约号 YY000001")
    assert "A001 号座（三楼考研自习区）" in reply
    [made] = active(services)
    assert (made["day"], made["start"], made["end"], made["status"]) == (
        "2026-11-22",
        "08:00",
        "12:00",
        "booked",
    )
    chat("确认")  # the form is over: nothing more is booked
    assert len(active(services)) == 1


def test_the_form_asks_for_what_is_missing(chat: Any) -> None:
    assert chat("我要预约") == words.ASK_TYPE
    assert chat("座位") == words.ASK_DATE
    assert chat("明天") == words.ASK_START
    assert chat("上午九点") == words.ASK_END
    assert chat("两个小时").startswith("将为你预约：明天（11月22日 周日）09:00–11:00 的座位")


def test_the_release_minute_edge(chat: Any, clock: Clock, services: Any) -> None:
    clock.now = at("2026-11-21T05:59:59")
    reply = chat("明天上午八点到十二点约个座位")
    assert reply == "明天（11月22日 周日）的座位每天 06:00 开放预约，到时再来哦～"
    assert chat("确认") == words_affirm_alone()
    clock.now = at("2026-11-21T06:00:00")
    chat("明天上午八点到十二点约个座位")
    assert chat("确认").startswith("预约成功")


def words_affirm_alone() -> str:
    from bot.wechat import words as messages

    return messages.AFFIRM_ALONE


def test_closing_time_is_the_last_minute_a_booking_may_end(chat: Any) -> None:
    # Sunday 2026-11-22 opens 08:00–22:00 (the example config's weekend hours).
    reply = chat("明天晚上八点到十点约座位")
    assert reply.startswith("将为你预约：明天（11月22日 周日）20:00–22:00"), reply
    chat("不")
    reply = chat("明天晚上八点到十点半约座位")
    assert reply.startswith(
        forms.OUTSIDE_HOURS.format(day="明天（11月22日 周日）", opens="08:00", closes="22:00")
    ), reply


def test_a_closed_day_is_refused_with_its_reason(chat: Any, clock: Clock) -> None:
    clock.now = at("2026-12-30T09:00:00")
    reply = chat("明天上午九点到十一点约研讨室")
    assert reply.startswith("明天（12月31日 周四）图书馆闭馆（年终设备检修），换一天吧～")


def test_a_student_may_not_book_a_research_room_but_a_teacher_may(chat: Any, services: Any) -> None:
    reply = chat("周一上午九点到十一点约研修室")
    assert reply == "研修室仅限教职工预约哦。"
    services.db().execute(
        "INSERT INTO users (channel, user_id, first_seen, last_interaction, reader_type) "
        "VALUES ('mp', 'oTeacher', '2026-11-01', '2026-11-01', 'teacher') "
        "ON CONFLICT (channel, user_id) DO UPDATE SET reader_type = 'teacher'"
    )
    reply = chat("周一上午九点到十一点约研修室", "oTeacher")
    assert "501 教师研修室" in reply, reply
    assert chat("确认", "oTeacher").startswith("预约成功")


def test_a_room_asks_the_group_size_and_takes_companions_by_student_number(
    chat: Any, services: Any
) -> None:
    assert chat("周一下午三点到五点约讨论室") == words.ASK_PARTY
    reply = chat("5")
    assert "201 研讨间" in reply and "5 人使用" in reply
    chat("取消")
    reply = chat("周一下午三点到五点约讨论室，同学学号 2023010101、2023010102")
    assert "3 人使用" in reply and "2023010101、2023010102" in reply
    assert chat("确认").startswith("预约成功")
    [made] = active(services)
    assert made["party_size"] == 3
    assert made["companions"] == '["2023010101", "2023010102"]'


def test_a_taken_wish_gets_the_nearest_alternatives_to_pick(chat: Any, services: Any) -> None:
    # The one room for nine people (T405) is taken on Monday 15:00–17:00.
    book_for(services, "oOther", room("2026-11-23", "15:00", "17:00", 9, "T405"))
    reply = chat("周一下午三点到五点约讨论室，我们9个人")
    assert "的研讨间已经约满了" in reply
    assert "1. 后天（11月23日 周一）14:30–16:30 405 创客研讨间" not in reply  # overlaps
    assert "1. 后天（11月23日 周一）13:00–15:00 405 创客研讨间" in reply
    assert "2. 后天（11月23日 周一）17:00–19:00 405 创客研讨间" in reply
    assert "回复序号" in reply
    assert active(services) == []
    reply = chat("2")
    assert reply.startswith("将为你预约：后天（11月23日 周一）17:00–19:00 405 创客研讨间"), reply
    assert chat("确认").startswith("预约成功")
    [made] = active(services)
    assert (made["space_id"], made["start"], made["end"]) == ("T405", "17:00", "19:00")


def test_a_named_seat_that_is_taken_offers_one_with_the_same_features(
    chat: Any, services: Any
) -> None:
    wish = Wish("seat", datetime(2026, 11, 22).date(), *_hours("08:00", "12:00"), space_id="A005")
    book_for(services, "oOther", wish)
    reply = chat("明天上午八点到十二点约A005")
    assert "A005 号座这个时间已经被约了" in reply
    assert "1. 明天（11月22日 周日）08:00–12:00 A001 号座" in reply
    chat("1")
    assert "A001 号座" in chat("确认")


def _hours(start: str, end: str) -> tuple[Any, Any]:
    return (datetime.strptime(start, "%H:%M").time(), datetime.strptime(end, "%H:%M").time())


def test_seat_features_are_kept(chat: Any, services: Any) -> None:
    reply = chat("明天下午两点到四点约个靠窗的座位")
    assert "（靠窗）" in reply and "12 个空位" in reply
    chat("确认")
    [made] = active(services)
    assert "window" in spaces_of(services).get(made["space_id"]).features


def test_a_reader_cannot_hold_two_overlapping_bookings(chat: Any) -> None:
    chat("明天上午八点到十二点约座位")
    chat("确认")
    chat("明天上午十点到十一点约个讨论室，3个人")
    assert chat("确认") == "你在这个时间已经有预约了，可以发送「我的预约」查看。"


def test_a_suspended_reader_is_told_why_and_until_when(chat: Any, services: Any) -> None:
    db = services.db()
    for n in range(3):
        db.execute(
            "INSERT INTO violations (channel, user_id, kind, at) VALUES ('mp', ?, 'no_show', ?)",
            [READER, f"2026-11-{15 + n}T09:15:00+08:00"],
        )
    reply = chat("明天上午八点到十二点约座位")
    assert reply.startswith(
        "你近 30 天内有 3 次违约（未签到或暂离超时），预约功能暂停到 11月24日 09:15"
    )


# -- my bookings and cancelling ---------------------------------------------------------------


def test_listing_and_cancelling_one_of_several(chat: Any, services: Any) -> None:
    assert chat("我的预约") == words.NO_BOOKINGS
    assert chat("取消预约") == words.NOTHING_TO_CANCEL
    chat("明天上午八点到十二点约座位")
    chat("确认")
    chat("明天下午两点到四点约座位")
    chat("确认")
    listing = chat("我的预约")
    assert "1. 明天（11月22日 周日）08:00–12:00 A001 号座" in listing
    assert "2. 明天（11月22日 周日）14:00–16:00" in listing
    assert "待签到 · YY000001" in listing
    assert chat("取消预约").startswith("要取消哪一个？")
    assert chat("9") == words.PICK_AGAIN
    assert chat("2").startswith("要取消这个预约吗？\n明天（11月22日 周日）14:00–16:00")
    assert chat("确认").startswith("已取消：明天（11月22日 周日）14:00–16:00")
    [left] = active(services)
    assert left["start"] == "08:00"
    assert chat("取消预约").startswith("要取消这个预约吗？")
    assert chat("不") == words.KEPT
    assert len(active(services)) == 1


@pytest.mark.parametrize("word", ["好的", "行", "确定", "1"])
def test_the_cancel_confirmation_takes_every_yes(chat: Any, services: Any, word: str) -> None:
    chat("明天上午八点到十二点约座位")
    chat("确认")
    assert chat("取消预约").startswith("要取消这个预约吗？")
    assert chat(word).startswith("已取消：")
    assert active(services) == []


@pytest.mark.parametrize("word", ["算了", "不用了", "取消"])
def test_giving_up_at_a_cancel_question_keeps_the_booking_and_says_so(
    chat: Any, services: Any, word: str
) -> None:
    # The router's 「好的，已取消」 here would read as if the booking were gone.
    chat("明天上午八点到十二点约座位")
    chat("确认")
    assert chat("取消预约").startswith("要取消这个预约吗？")
    assert chat(word) == words.KEPT
    assert len(active(services)) == 1
    chat("明天下午两点到四点约座位")
    chat("确认")
    assert chat("取消预约").startswith("要取消哪一个？")
    assert chat(word) == words.KEPT
    assert len(active(services)) == 2
    # The question is over: the same word is the router's again.
    assert chat(word) == "现在没有进行中的操作哦～发送「帮助」看看我能做什么。"


def test_a_reference_names_the_booking_to_cancel(chat: Any, services: Any) -> None:
    chat("明天上午八点到十二点约座位")
    chat("确认")
    chat("明天下午两点到四点约座位")
    chat("确认")
    assert chat("取消预约 YY000001").startswith("要取消这个预约吗？\n明天（11月22日 周日）08:00")


# -- check-in, 暂离, leaving ---------------------------------------------------------------------


@pytest.fixture
def booked(chat: Any) -> None:
    chat("明天上午八点到十二点约座位")
    assert chat("确认").startswith("预约成功")


def test_check_in_window_edges_by_scan(booked: None, scan: Any, clock: Clock) -> None:
    clock.now = at("2026-11-22T07:49:59")
    assert scan("seat:A001") == words.TOO_EARLY.format(
        opens="07:50", booking="今天（11月22日 周日）08:00–12:00 A001 号座（三楼考研自习区）"
    )
    clock.now = at("2026-11-22T07:50:00")
    assert scan("seat:A001").startswith("签到成功✅ 今天（11月22日 周日）08:00–12:00 A001 号座")


def test_the_last_second_of_the_grace_period(booked: None, chat: Any, clock: Clock) -> None:
    clock.now = at("2026-11-22T08:14:59")
    assert chat("签到").startswith("签到成功")


def test_after_the_grace_period_the_check_in_is_refused(
    booked: None, chat: Any, clock: Clock
) -> None:
    clock.now = at("2026-11-22T08:15:00")
    assert chat("签到") == "已超过签到时间，这个预约已失效。"


def test_scanning_the_wrong_seat_names_only_ones_own(booked: None, scan: Any, clock: Clock) -> None:
    clock.now = at("2026-11-22T08:00:00")
    assert scan("seat:A002") == "你预约的是 A001，请到对应位置扫码签到。"
    assert scan("seat:Z999") == words.UNKNOWN_CODE


def test_step_out_and_back_and_leave(booked: None, chat: Any, clock: Clock, services: Any) -> None:
    clock.now = at("2026-11-22T08:00:00")
    assert chat("暂离") == "只有签到后的座位才能暂离哦。"
    chat("签到")
    clock.now = at("2026-11-22T09:00:00")
    assert chat("暂离") == words.STEPPED_OUT.format(minutes=30, until="09:30")
    clock.now = at("2026-11-22T09:29:00")
    assert chat("签到").startswith("欢迎回来✅")
    clock.now = at("2026-11-22T10:40:00")
    assert chat("退座").startswith("已退座：今天（11月22日 周日）08:00–12:00 A001 号座")
    assert chat("退座").startswith("现在没有正在使用的预约")
    # The rest of the morning is free for someone else.
    other = Wish("seat", clock.now.date(), *_hours("11:00", "12:00"), space_id="A001")
    assert book_for(services, "oNext", other)["space_id"] == "A001"


def test_a_meal_time_step_out_is_longer(chat: Any, clock: Clock) -> None:
    chat("明天上午十一点到下午三点约座位")
    chat("确认")
    clock.now = at("2026-11-22T11:00:00")
    chat("签到")
    clock.now = at("2026-11-22T11:30:00")
    assert chat("暂离") == words.STEPPED_OUT.format(minutes=60, until="12:30")


# -- privacy ------------------------------------------------------------------------------------


def test_no_reader_learns_who_holds_a_seat(
    booked: None, chat: Any, scan: Any, clock: Clock
) -> None:
    clock.now = at("2026-11-22T08:05:00")
    replies = [
        scan("seat:A001", "oStranger"),
        chat("A001是谁约的", "oStranger"),
        chat("查一下 A001 的预约", "oStranger"),
        chat("我的预约", "oStranger"),
        chat("取消预约 YY000001", "oStranger"),
        chat("签到", "oStranger"),
    ]
    for reply in replies:
        assert READER not in reply
        assert "YY000001" not in reply or reply.startswith("你没有")
        assert "08:00–12:00" not in reply
    assert replies[0] == words.SEAT_HELD
    # And the holder's booking is untouched.
    assert chat("我的预约").count("YY000001") == 1


def test_the_lines_notices_offer_can_be_sent_back_as_they_are(chat: Any) -> None:
    # What a closure notice offers (handlers.reservation_words.offer_request).
    reply = chat("约T202 11月23日 14:00到16:00 4人")
    assert reply.startswith("将为你预约：后天（11月23日 周一）14:00–16:00 202 研讨间"), reply


def test_a_free_seat_scanned_without_a_booking_can_be_booked_as_suggested(
    scan: Any, chat: Any, clock: Clock
) -> None:
    clock.now = at("2026-11-21T10:05:00")
    reply = scan("seat:A002")
    assert reply == words.SEAT_FREE_NO_BOOKING.format(
        space="A002 号座", request="约A002 11月21日 10:30到12:30"
    )
    suggestion = reply.split("「")[1].split("」")[0]
    assert chat(suggestion).startswith("将为你预约：今天（11月21日 周六）10:30–12:30 A002 号座")
    assert chat("确认").startswith("预约成功")
    assert scan("seat:A002", "oSomeoneElse") == words.SEAT_HELD
