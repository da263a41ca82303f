"""The first capabilities, through the real message path at fixed clocks: opening hours,
feedback, hand-off, greeting. The calendar is config/library.example.toml."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import TZ
from bot.dev.callback_client import WeChatPeer, reply_text
from handlers import feedback, greeting
from handlers.tickets import handoff
from tests.conftest import Clock, post

READER = "oHandlersReader"


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def rows(tmp_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        return db.execute(sql, params).fetchall()


class Chat:
    def __init__(self, app: Any, peer: WeChatPeer, clock: Clock) -> None:
        self.client = app.test_client()
        self.peer = peer
        self.clock = clock

    def __call__(self, text: str, user: str = READER) -> str:
        response = post(self.client, self.peer.text(user, text))
        assert response.status_code == 200, response.data
        return reply_text(self.peer.read_reply(response.data))

    def event(self, event: str, key: str = "") -> str:
        response = post(self.client, self.peer.event(READER, event, key))
        assert response.status_code == 200, response.data
        return reply_text(self.peer.read_reply(response.data))


@pytest.fixture
def chat_at(make_app: Any, mp_peer: WeChatPeer) -> Any:
    def start(moment: datetime) -> Chat:
        clock = Clock(moment)
        return Chat(make_app(clock=clock), mp_peer, clock)

    return start


# -- opening hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text", "expected"),
    [
        # An ordinary Monday morning: open, the weekly hours.
        (at(2026, 11, 23, 10), "今天几点闭馆", "现在开馆中，今天 22:30 闭馆"),
        (at(2026, 11, 23, 6, 30), "几点开门", "现在闭馆，下次开馆：今天 07:00"),
        (at(2026, 11, 23, 23), "还开着吗", "现在闭馆，下次开馆：明天 07:00"),
        # Christmas Eve: special hours with their note.
        (at(2026, 12, 24, 10), "今天几点闭馆", "现在开馆中，今天 20:00 闭馆"),
        (at(2026, 12, 24, 10), "今天几点闭馆", "12/24  07:00–20:00（平安夜闭馆较早"),
        (at(2026, 12, 24, 20, 30), "几点开门", "现在闭馆，下次开馆：明天 07:00"),
        (at(2026, 12, 23, 10), "明天几点关门", "明天（12月24日 周四）开馆 07:00–20:00（平安夜"),
        # The closure for maintenance: closed with its reason; 元旦 follows with holiday hours.
        (at(2026, 12, 31, 10), "今天开门吗", "现在闭馆（年终设备检修），下次开馆：明天 08:30"),
        (at(2026, 12, 30, 10), "明天几点开门", "明天（12月31日 周四）闭馆：年终设备检修"),
        # 国庆节: public holiday hours, named.
        (at(2026, 10, 1, 10), "几点开门", "现在开馆中，今天 17:00 闭馆"),
        (at(2026, 10, 1, 10), "几点开门", "10/01  08:30–17:00（国庆节）"),
        (at(2026, 9, 30, 10), "明天几点开门", "明天（10月1日 周四）国庆节，开馆 08:30–17:00"),
        # A weekday named: the next one to come.
        (at(2026, 11, 23, 10), "周六开门吗", "11月28日（周六）开馆 08:00–22:00"),
        # Winter closure, from the config's own holiday lists beyond chinesecalendar's data.
        (at(2027, 1, 23, 10), "明天开门吗", "明天（1月24日 周日）闭馆：寒假闭馆"),
    ],
)
def test_opening_hours_at_fixed_clocks(
    chat_at: Any, moment: datetime, text: str, expected: str
) -> None:
    assert expected in chat_at(moment)(text)


def test_todays_hours_come_with_the_week(chat_at: Any) -> None:
    reply = chat_at(at(2026, 12, 28, 10))("开放时间")
    lines = reply.splitlines()
    assert lines[0] == "现在开馆中，今天 22:30 闭馆"
    assert "近7天开放时间：" in lines
    week = lines[lines.index("近7天开放时间：") + 1 :]
    assert len(week) == 7
    assert week[0].startswith("周一 12/28")
    assert week[3] == "周四 12/31  闭馆（年终设备检修）"
    assert week[4] == "周五 01/01  08:30–17:00（元旦）"


def test_the_week_is_worked_out_again_when_the_day_changes(chat_at: Any) -> None:
    chat = chat_at(at(2026, 12, 28, 22, 0))
    first = chat("开放时间").splitlines()
    assert first[first.index("近7天开放时间：") + 1].startswith("周一 12/28")
    chat.clock.advance(hours=3)  # past midnight, same app: the table starts on Tuesday
    again = chat("开放时间").splitlines()
    week = again[again.index("近7天开放时间：") + 1 :]
    assert week[0].startswith("周二 12/29") and week[-1].startswith("周一 01/04")


def test_hours_menu_click_answers_hours(chat_at: Any) -> None:
    assert (
        chat_at(at(2026, 12, 31, 10)).event("CLICK", "HOURS").startswith("现在闭馆（年终设备检修）")
    )


# -- feedback --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("反馈：三楼空调太冷", "三楼空调太冷"),
        ("反馈:三楼空调太冷", "三楼空调太冷"),
        ("建议，图书馆周末延长开放时间", "图书馆周末延长开放时间"),
        ("我要投诉 四楼有人占座一整天", "四楼有人占座一整天"),
        ("我有个建议：多买点考研书", "多买点考研书"),
    ],
)
def test_feedback_in_one_message_is_stored_at_once(
    chat_at: Any, tmp_path: Path, text: str, stored: str
) -> None:
    moment = at(2026, 11, 23, 10)
    reply = chat_at(moment)(text)
    (ref,) = re.findall(r"FK\d{6}", reply)
    assert reply == feedback.THANKS.format(ref=ref, hours=24)
    assert rows(
        tmp_path,
        "SELECT ref, kind, channel, user_id, text, status, created_at, due_at FROM tickets",
    ) == [
        (
            ref,
            "feedback",
            "mp",
            READER,
            stored,
            "open",
            moment.isoformat(),
            (moment + timedelta(hours=24)).isoformat(),
        )
    ]


@pytest.mark.parametrize("text", ["我要反馈", "反馈", "我想提个建议", "投诉！"])
def test_feedback_without_content_asks_for_it(chat_at: Any, tmp_path: Path, text: str) -> None:
    assert chat_at(at(2026, 11, 23, 10))(text) == feedback.ASK
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]


def test_feedback_reference_numbers_count_up(chat_at: Any) -> None:
    chat = chat_at(at(2026, 11, 23, 10))
    refs = [re.findall(r"FK\d{6}", chat(f"反馈：第{n}条意见内容")) for n in range(3)]
    assert refs == [["FK000001"], ["FK000002"], ["FK000003"]]


# -- hand-off --------------------------------------------------------------------------------


def test_handoff_on_duty_promises_a_librarian_now(chat_at: Any, tmp_path: Path) -> None:
    reply = chat_at(at(2026, 11, 23, 10))("转人工")  # Monday 10:00
    (ref,) = re.findall(r"RG\d{6}", reply)
    assert reply.splitlines()[0] == handoff.ON_DUTY.format(ref=ref)
    assert "0315-8805000" in reply
    assert handoff.ASK_QUESTION in reply


@pytest.mark.parametrize(
    ("moment", "next_duty"),
    [
        (at(2026, 11, 23, 20), "明天 08:00 起"),  # Monday evening
        (at(2026, 11, 23, 7, 30), "今天 08:00 起"),  # Monday before duty
        (at(2026, 11, 27, 18), "明天 09:00 起"),  # Friday evening: weekend duty
        (at(2026, 12, 30, 18), "1月2日（周六） 09:00 起"),  # closure, then 元旦: no duty
    ],
)
def test_handoff_off_duty_says_when_duty_starts(
    chat_at: Any, moment: datetime, next_duty: str
) -> None:
    reply = chat_at(moment)("转人工")
    (ref,) = re.findall(r"RG\d{6}", reply)
    assert reply.splitlines()[0] == handoff.OFF_DUTY.format(
        ref=ref, next=next_duty, duty="工作日 08:00-17:30，周末 09:00-17:00"
    )


def test_handoff_question_goes_into_the_ticket(chat_at: Any, tmp_path: Path) -> None:
    chat = chat_at(at(2026, 11, 23, 10))
    reply = chat("转人工")
    (ref,) = re.findall(r"RG\d{6}", reply)
    assert chat("我的借书证丢了怎么办") == handoff.RECEIVED.format(ref=ref)
    assert rows(tmp_path, "SELECT ref, text FROM tickets") == [(ref, "我的借书证丢了怎么办")]


def test_handoff_with_the_question_in_one_message(chat_at: Any, tmp_path: Path) -> None:
    reply = chat_at(at(2026, 11, 23, 10))("转人工，我的借书证丢了")
    (ref,) = re.findall(r"RG\d{6}", reply)
    assert handoff.ASK_QUESTION not in reply
    assert rows(tmp_path, "SELECT ref, text FROM tickets") == [(ref, "我的借书证丢了")]


def test_second_handoff_within_the_hour_reuses_the_ticket(chat_at: Any, tmp_path: Path) -> None:
    chat = chat_at(at(2026, 11, 23, 10))
    (first,) = re.findall(r"RG\d{6}", chat("转人工"))
    chat("我的借书证丢了怎么办")
    chat.clock.now = at(2026, 11, 23, 10, 40)
    (again,) = re.findall(r"RG\d{6}", chat("转人工，还有续借的问题"))
    assert again == first
    assert rows(tmp_path, "SELECT text FROM tickets") == [("我的借书证丢了怎么办\n还有续借的问题",)]

    chat.clock.now = at(2026, 11, 23, 11, 1)  # more than an hour after the ticket opened
    (later,) = re.findall(r"RG\d{6}", chat("转人工"))
    assert later != first
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(2,)]


def test_repeating_handoff_while_asked_for_the_question_keeps_one_ticket(
    chat_at: Any, tmp_path: Path
) -> None:
    chat = chat_at(at(2026, 11, 23, 10))
    (first,) = re.findall(r"RG\d{6}", chat("转人工"))
    second = chat("转人工")
    assert re.findall(r"RG\d{6}", second) == [first]
    assert handoff.ASK_QUESTION in second  # still waiting for the question
    assert chat("座位预约系统打不开") == handoff.RECEIVED.format(ref=first)
    # The command words are not the question.
    assert rows(tmp_path, "SELECT text FROM tickets") == [("座位预约系统打不开",)]


def test_handoff_menu_click_then_question(chat_at: Any, tmp_path: Path) -> None:
    chat = chat_at(at(2026, 11, 23, 10))
    (ref,) = re.findall(r"RG\d{6}", chat.event("CLICK", "HUMAN"))
    assert chat("我想借阅古籍") == handoff.RECEIVED.format(ref=ref)
    assert rows(tmp_path, "SELECT text FROM tickets") == [("我想借阅古籍",)]


# -- greeting and help -----------------------------------------------------------------------


def test_greeting_and_welcome_name_the_library(chat_at: Any) -> None:
    chat = chat_at(at(2026, 11, 23, 10))
    assert chat("你好") == greeting.GREETING.format(name="华北理工大学图书馆")
    welcome = chat.event("subscribe")
    assert welcome.startswith(greeting.WELCOME.format(name="华北理工大学图书馆"))
    assert greeting.HELP_TITLE in welcome


def test_help_lists_every_capability_and_the_menu(chat_at: Any) -> None:
    from handlers.registry import CAPABILITIES

    reply = chat_at(at(2026, 11, 23, 10))("帮助")
    for capability in CAPABILITIES:
        for line in capability.help:
            assert f"• {line}" in reply
    assert (
        "「开馆时间」、「预约座位」、「我的预约」、「签到」、「意见反馈」、「使用帮助」、「联系馆员」"
        in reply
    )
    assert reply.endswith(greeting.HELP_FOOTER)
