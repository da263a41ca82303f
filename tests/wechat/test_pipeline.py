"""The pipeline: retries answered once, the reply deadline, and the one error path.

Everything goes through the real callback endpoint (signed, encrypted XML) on a temporary
SQLite file; clocks are injected, slow handlers wait on threading.Event, never on sleeps.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core import outbox
from bot.core.clock import TZ
from bot.core.errors import BUSY, UserFacingError
from bot.dev.callback_client import Callback, WeChatPeer, reply_text
from bot.wechat import words as messages
from bot.wechat.router import hash_user
from handlers.kit.actions import Events, LibraryAction
from handlers.kit.capability import Capability
from handlers.registry import CAPABILITIES
from intents.nlu import NLU
from intents.result import ParseResult
from tests.conftest import ROOT, post

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # a Monday morning, librarians on duty
WAIT = 10  # seconds a test waits for a thread it controls before calling it stuck


def clock() -> datetime:
    return NOW


def rows(tmp_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        return db.execute(sql, params).fetchall()


def say(client: Any, peer: WeChatPeer, callback: Callback) -> tuple[Any, str]:
    response = post(client, callback)
    assert response.status_code == 200, response.data
    return response, reply_text(peer.read_reply(response.data))


def parser_with(words: dict[str, str]) -> Callable[[str, datetime], ParseResult]:
    """The intent layer, plus exact texts that mean a test-only intent."""
    nlu = NLU.load(ROOT / "instance" / "models")

    def parse(text: str, now: datetime) -> ParseResult:
        if text.strip() in words:
            return ParseResult(text.strip(), words[text.strip()], 1.0)
        return nlu.parse(text, now)

    return parse


class Probe:
    """A test capability whose one action counts its runs and can be held at a gate."""

    def __init__(self, name: str, text: str = "done", gated: bool = False) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.error: BaseException | None = None
        if not gated:
            self.release.set()
        probe = self

        class ProbeAction(LibraryAction):
            NAME = name

            def run(
                self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
            ) -> Events:
                probe.calls += 1
                probe.started.set()
                try:
                    assert probe.release.wait(WAIT), "the test never released the action"
                    if probe.error is not None:
                        raise probe.error
                    dispatcher.utter_message(text=f"{text} #{probe.calls}")
                    return []
                finally:
                    probe.finished.set()

        self.capability = Capability(
            name=f"test_{name}", actions=(ProbeAction,), scenes={"probe:": name}
        )


# -- 1. retries are answered once ------------------------------------------------------------


def test_same_msgid_twice_is_handled_once_and_answered_alike(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    callback = mp_peer.text("oRetry", "反馈：四楼太吵了请管理一下", msg_id="7000000000000001")
    _, first = say(client, mp_peer, callback)
    # WeChat's resend: same MsgId, freshly signed (new nonce and timestamp).
    resend = mp_peer.text("oRetry", "反馈：四楼太吵了请管理一下", msg_id="7000000000000001")
    _, second = say(client, mp_peer, resend)

    assert re.search(r"FK\d{6}", first)
    assert second == first
    assert rows(tmp_path, "SELECT text FROM tickets") == [("四楼太吵了请管理一下",)]
    assert rows(tmp_path, "SELECT dedup_key, status FROM inbound") == [
        ("mp:msg:7000000000000001", "answered")
    ]


def test_a_new_msgid_with_the_same_words_is_a_new_message(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    say(client, mp_peer, mp_peer.text("oTwice", "反馈：四楼太吵了请管理一下", msg_id="1"))
    say(client, mp_peer, mp_peer.text("oTwice", "反馈：四楼太吵了请管理一下", msg_id="2"))
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(2,)]


def test_the_same_msgid_on_the_wecom_channel_is_another_message(
    make_app: Any, mp_peer: WeChatPeer, work_peer: WeChatPeer, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    say(client, mp_peer, mp_peer.text("oSame", "反馈：四楼太吵了请管理一下", msg_id="42"))
    say(client, work_peer, work_peer.text("oSame", "反馈：四楼太吵了请管理一下", msg_id="42"))
    assert rows(tmp_path, "SELECT channel FROM tickets ORDER BY id") == [("mp",), ("work",)]


def test_an_event_resent_with_the_same_sender_time_and_event_is_handled_once(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    probe = Probe("action_test_count")
    client = make_app(clock=clock, capabilities=(*CAPABILITIES, probe.capability)).test_client()
    sent_at = int(NOW.timestamp())

    _, first = say(client, mp_peer, mp_peer.event("oEvt", "SCAN", "probe:1", create_time=sent_at))
    _, again = say(client, mp_peer, mp_peer.event("oEvt", "SCAN", "probe:1", create_time=sent_at))
    assert (first, again, probe.calls) == ("done #1", "done #1", 1)

    # Another second, or another sender, is another event.
    _, later = say(
        client, mp_peer, mp_peer.event("oEvt", "SCAN", "probe:1", create_time=sent_at + 1)
    )
    _, other = say(client, mp_peer, mp_peer.event("oOther", "SCAN", "probe:1", create_time=sent_at))
    assert (later, other, probe.calls) == ("done #2", "done #3", 3)
    assert rows(tmp_path, "SELECT count(*) FROM inbound WHERE kind = 'event'") == [(3,)]


def test_a_duplicate_arriving_while_the_first_is_still_handled_gets_success(
    make_app: Any, mp_peer: WeChatPeer
) -> None:
    probe = Probe("action_test_gate", gated=True)
    app = make_app(
        clock=clock,
        reply_budget=4.9,  # the first copy must still be "handling", not yet held
        capabilities=(*CAPABILITIES, probe.capability),
        parser=parser_with({"慢慢来": "test_gate"}),
    )
    callback = mp_peer.text("oDup", "慢慢来", msg_id="7000000000000002")
    first: dict[str, Any] = {}

    def first_copy() -> None:
        first["response"] = post(app.test_client(), callback)

    thread = threading.Thread(target=first_copy)
    thread.start()
    try:
        assert probe.started.wait(WAIT)
        duplicate = post(app.test_client(), callback)
        assert duplicate.status_code == 200
        assert duplicate.data == b"success"  # nothing stored yet: WeChat shows nothing
    finally:
        probe.release.set()
        thread.join(WAIT)
    assert reply_text(mp_peer.read_reply(first["response"].data)) == "done #1"
    assert probe.calls == 1
    # Once the first handling stored its reply, a later resend carries it.
    _, late_resend = say(app.test_client(), mp_peer, callback)
    assert late_resend == "done #1"
    assert probe.calls == 1


# -- 2. the reply deadline -------------------------------------------------------------------


def slow_app(make_app: Any) -> tuple[Probe, Any]:
    """An app whose 「查空座」 runs an action that waits for `probe.release`, budget 0.3 s."""
    probe = Probe("action_test_slow", text="查到了：三楼还有空座", gated=True)
    app = make_app(
        clock=clock,
        reply_budget=0.3,
        capabilities=(*CAPABILITIES, probe.capability),
        parser=parser_with({"查空座": "test_slow"}),
    )
    return probe, app


def test_a_slow_handler_gets_a_holding_reply_and_its_answer_goes_to_the_outbox(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    probe, app = slow_app(make_app)
    client = app.test_client()
    callback = mp_peer.text("oSlow", "查空座", msg_id="7000000000000003")
    try:
        _, held = say(client, mp_peer, callback)
        assert held == messages.HOLDING
        assert not probe.finished.is_set()  # the reply left before the action finished
        assert rows(tmp_path, "SELECT status FROM inbound") == [("held",)]

        # WeChat resends while the action still runs: the holding reply again, no rerun.
        _, resent = say(client, mp_peer, callback)
        assert resent == messages.HOLDING
    finally:
        probe.release.set()
    app.extensions["guanban"].pipeline.shutdown()  # waits for the held handler's callback

    assert probe.calls == 1
    assert rows(tmp_path, "SELECT status FROM inbound") == [("late",)]
    db = app.extensions["guanban"].services.db()
    queued = outbox.for_recipient(db, "mp", "oSlow")
    assert [(q["kind"], q["idempotency_key"], q["payload"]) for q in queued] == [
        (
            "late_reply",
            "late:mp:msg:7000000000000003",
            {"type": "text", "content": "查到了：三楼还有空座 #1"},
        )
    ]
    assert queued[0]["status"] == "queued"

    # Resent after the late answer was queued: still the holding reply, still one handling.
    _, after = say(client, mp_peer, callback)
    assert after == messages.HOLDING
    assert probe.calls == 1
    assert len(outbox.for_recipient(db, "mp", "oSlow")) == 1


def test_a_handler_that_answers_at_the_deadline_is_answered_directly_and_queues_nothing(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.wechat import inbox

    probe, app = slow_app(make_app)
    settle, answered = inbox.settle, threading.Event()

    def racing(db: Any, incoming: Any, reply: Any, status: str) -> bool:
        if status == "held":  # the request gives up just as the handler keeps its answer
            probe.release.set()
            assert answered.wait(WAIT)
        won = settle(db, incoming, reply, status)
        if status == "answered":
            answered.set()
        return won

    monkeypatch.setattr(inbox, "settle", racing)
    callback = mp_peer.text("oDeadline", "查空座", msg_id="7000000000000009")
    _, text = say(app.test_client(), mp_peer, callback)
    app.extensions["guanban"].pipeline.shutdown()
    assert text == "查到了：三楼还有空座 #1"  # its own answer, not the holding reply
    assert rows(tmp_path, "SELECT status FROM inbound") == [("answered",)]
    db = app.extensions["guanban"].services.db()
    assert outbox.for_recipient(db, "mp", "oDeadline") == []  # and no late copy of it


def test_a_fast_handler_is_answered_directly_and_queues_nothing(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    app = make_app(clock=clock, reply_budget=4.9)
    _, reply = say(app.test_client(), mp_peer, mp_peer.text("oFast", "你好", msg_id="9"))
    assert "你好呀" in reply
    assert outbox.for_recipient(app.extensions["guanban"].services.db(), "mp", "oFast") == []
    assert rows(tmp_path, "SELECT status FROM inbound") == [("answered",)]


def thread_probe(name: str, quick: bool) -> tuple[Capability, list[str]]:
    """A capability whose action notes the thread it ran in."""
    threads: list[str] = []

    class ThreadAction(LibraryAction):
        NAME = name

        def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
        ) -> Events:
            threads.append(threading.current_thread().name)
            dispatcher.utter_message(text="ran")
            return []

    ThreadAction.quick = quick
    return Capability(name=f"test_{name}", actions=(ThreadAction,)), threads


@pytest.mark.parametrize(("quick", "in_pool"), [(True, False), (False, True)])
def test_only_an_action_marked_quick_runs_in_the_request_thread(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path, quick: bool, in_pool: bool
) -> None:
    capability, threads = thread_probe("action_probe", quick)
    app = make_app(
        clock=clock,
        capabilities=(*CAPABILITIES, capability),
        parser=parser_with({"probe": "probe"}),
    )
    _, reply = say(app.test_client(), mp_peer, mp_peer.text("oThreads", "probe", msg_id="41"))
    assert reply == "ran"
    [thread] = threads
    assert thread.startswith("handler") is in_pool, thread
    assert rows(tmp_path, "SELECT status FROM inbound") == [("answered",)]


# -- 4. the one error path -------------------------------------------------------------------


def test_user_facing_error_is_said_as_it_is(make_app: Any, mp_peer: WeChatPeer) -> None:
    probe = Probe("action_test_refuse")
    probe.error = UserFacingError("这个座位已经有人预约了，换一个试试吧。")
    app = make_app(
        clock=clock,
        capabilities=(*CAPABILITIES, probe.capability),
        parser=parser_with({"约座": "test_refuse"}),
    )
    _, reply = say(app.test_client(), mp_peer, mp_peer.text("oRefused", "约座"))
    assert reply == "这个座位已经有人预约了，换一个试试吧。"


def test_unexpected_error_is_logged_once_with_hashed_user_and_answered_calmly(
    make_app: Any, mp_peer: WeChatPeer, caplog: pytest.LogCaptureFixture
) -> None:
    openid = "oRawOpenid4711xyz"
    probe = Probe("action_test_boom")
    probe.error = RuntimeError("the seat service fell over")
    app = make_app(
        clock=clock,
        capabilities=(*CAPABILITIES, probe.capability),
        parser=parser_with({"炸": "test_boom"}),
    )
    caplog.set_level(logging.DEBUG)
    response, reply = say(
        app.test_client(), mp_peer, mp_peer.text(openid, "炸", msg_id="7000000000004711")
    )

    assert response.status_code == 200
    assert reply == BUSY
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    logged = errors[0].getMessage()
    assert "7000000000004711" in logged
    hashed = re.search(r"user=([0-9a-f]{12})\b", logged)
    assert hashed and hashed.group(1) == hash_user("test-secret", openid)
    assert errors[0].exc_info is not None  # the traceback is kept for whoever reads logs
    assert openid not in caplog.text


def test_unexpected_error_in_an_event_names_the_event_not_the_reader(
    make_app: Any, mp_peer: WeChatPeer, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe("action_test_boom")
    probe.error = RuntimeError("scanner broke")
    app = make_app(clock=clock, capabilities=(*CAPABILITIES, probe.capability))
    sent_at = int(NOW.timestamp())
    _, reply = say(
        app.test_client(),
        mp_peer,
        mp_peer.event("oScanner", "SCAN", "probe:9", create_time=sent_at),
    )
    assert reply == BUSY
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert f"scan@{sent_at}" in errors[0]
    assert "oScanner" not in caplog.text
