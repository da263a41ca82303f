"""Message statistics: every text message counted once, through the real webhook, under the
intent it ended up as, per library day and channel."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core.db import connect
from bot.core.errors import BUSY
from bot.dev.callback_client import WeChatPeer
from bot.wechat import stats
from bot.wechat import words as messages
from handlers.kit.actions import Capability, Events, LibraryAction
from handlers.registry import CAPABILITIES
from tests.conftest import Clock, post
from tests.wechat.test_dialog import scripted, unsure
from tests.wechat.test_router import NOW, rows, say, send


def counts(tmp_path: Path) -> dict[tuple[str, str, str], int]:
    found = rows(tmp_path, "SELECT day, channel, intent, count FROM message_stats")
    return {(day, channel, intent): n for day, channel, intent, n in found}


def by_intent(tmp_path: Path) -> dict[str, int]:
    return {intent: n for (_, _, intent), n in counts(tmp_path).items()}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def chat(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> Any:
    parses = {"周末能来吗": unsure("周末能来吗", ("opening_hours", 0.40), ("feedback", 0.35))}
    client = make_app(clock=clock, parser=scripted(parses)).test_client()
    return lambda text, user="oStats": say(client, mp_peer, text, user)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["你好"], {"greet": 1}),
        (["今天几点闭馆", "今天几点闭馆"], {"opening_hours": 2}),
        (["今天天气怎么样", "asdfgh"], {"out_of_scope": 2}),
        (["帮助"], {"help": 1}),
        (["转人工"], {"human": 1}),
        (["取消"], {"cancel": 1}),
        (["好的"], {"affirm": 1}),
        (["我不想活了"], {"crisis": 1}),
        # A form's answer counts under the form, whatever the words alone would be.
        (["我要反馈", "食堂的饭越来越贵了"], {"feedback": 2}),
        # A question back is "ambiguous"; the answer to it is the chosen intent.
        (["周末能来吗", "2"], {"ambiguous": 1, "feedback": 1}),
    ],
)
def test_each_message_counts_under_the_intent_it_ended_up_as(
    chat: Any, tmp_path: Path, texts: list[str], expected: dict[str, int]
) -> None:
    for text in texts:
        chat(text)
    assert by_intent(tmp_path) == expected


def test_the_day_is_the_librarys_and_channels_are_kept_apart(
    make_app: Any, mp_peer: WeChatPeer, work_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    clock.now = NOW.replace(hour=23, minute=59)
    say(client, mp_peer, "你好")
    say(client, work_peer, "你好", "zhangsan")
    clock.now = NOW.replace(hour=0, minute=1) + timedelta(days=1)  # 00:01 in Shanghai
    say(client, mp_peer, "你好")
    say(client, mp_peer, "你好")
    assert counts(tmp_path) == {
        ("2026-11-23", "mp", "greet"): 1,
        ("2026-11-23", "work", "greet"): 1,
        ("2026-11-24", "mp", "greet"): 2,
    }


def test_voice_counts_events_and_resends_do_not(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    assert send(client, mp_peer, mp_peer.voice("oStats", "")) == messages.VOICE_UNRECOGNISED
    send(client, mp_peer, mp_peer.voice("oStats", "几点闭馆"))
    send(client, mp_peer, mp_peer.event("oStats", "subscribe"))
    send(client, mp_peer, mp_peer.event("oStats", "CLICK", "HOURS"))
    callback = mp_peer.text("oStats", "你好")
    post(client, callback)
    post(client, callback)  # WeChat's resend of the same MsgId is answered from the inbox
    assert by_intent(tmp_path) == {"out_of_scope": 1, "opening_hours": 1, "greet": 1}


class Broken(LibraryAction):
    NAME = "action_opening_hours"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        raise RuntimeError("the calendar fell over")


def test_a_failing_action_is_still_counted_under_its_intent(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    broken = Capability(name="broken_hours", actions=(Broken,))
    client = make_app(clock=clock, capabilities=(*CAPABILITIES, broken)).test_client()
    assert say(client, mp_peer, "今天几点闭馆") == BUSY
    assert by_intent(tmp_path) == {"opening_hours": 1}


def test_the_query_functions(tmp_path: Path) -> None:
    from bot.core.db import migrate
    from bot.schema import CORE_MIGRATIONS

    path = tmp_path / "s.sqlite3"
    migrate(path, CORE_MIGRATIONS)
    db = connect(path)
    for day, intent in [(20, "greet"), (22, "greet"), (22, "help"), (22, "help"), (23, "greet")]:
        stats.record(db, "mp", intent, NOW.replace(day=day))
    stats.record(db, "work", "help", NOW.replace(day=22))
    assert stats.per_day(db, date(2026, 11, 21), date(2026, 11, 23)) == {
        "2026-11-21": 0,
        "2026-11-22": 4,
        "2026-11-23": 1,
    }
    assert stats.per_intent(db, date(2026, 11, 21), date(2026, 11, 23)) == [
        ("help", 3),
        ("greet", 2),
    ]
