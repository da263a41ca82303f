"""The router: the order of global commands, forms, intents, events, scenes and menu keys."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core.clock import TZ
from bot.dev.callback_client import Callback, WeChatPeer, reply_text
from bot.wechat import words as messages
from handlers import feedback, greeting
from handlers.kit.actions import Capability, Events, LibraryAction
from handlers.registry import CAPABILITIES
from handlers.reservations import words as reservation_words
from handlers.tickets import handoff
from tests.conftest import ROOT, Clock, post

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday, on duty
READER = "oRouterReader"


def rows(tmp_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        return db.execute(sql, params).fetchall()


def send(client: Any, peer: WeChatPeer, callback: Callback) -> str:
    response = post(client, callback)
    assert response.status_code == 200, response.data
    return reply_text(peer.read_reply(response.data))


def say(client: Any, peer: WeChatPeer, text: str, user: str = READER) -> str:
    return send(client, peer, peer.text(user, text))


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def chat(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> Any:
    client = make_app(clock=clock).test_client()
    return lambda text, user=READER: say(client, mp_peer, text, user)


# -- global commands come first ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["帮助", "菜单", "帮助。", " 菜单！", "help", "MENU"])
def test_help_answers_even_inside_the_feedback_form(
    chat: Any, tmp_path: Path, command: str
) -> None:
    assert chat("我要反馈") == feedback.ASK
    reply = chat(command)
    assert reply.startswith(greeting.HELP_TITLE)
    assert greeting.HELP_FOOTER in reply
    # Help was an aside: the form still waits for the feedback.
    assert re.search(r"编号 FK\d{6}", chat("食堂的饭越来越贵了"))
    assert rows(tmp_path, "SELECT text FROM tickets") == [("食堂的饭越来越贵了",)]


@pytest.mark.parametrize("command", ["取消", "退出", "算了", "取消。", "cancel"])
def test_cancel_ends_the_active_form(chat: Any, tmp_path: Path, command: str) -> None:
    chat("我要反馈")
    reply = chat(command)
    assert reply == messages.CANCELLED
    assert "已取消" in reply
    # The next message is no longer taken as feedback.
    assert chat("食堂的饭越来越贵了") == messages.NOT_UNDERSTOOD
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]


def test_cancel_without_a_form_says_there_is_nothing_to_cancel(chat: Any) -> None:
    assert chat("取消") == messages.NOTHING_TO_CANCEL
    chat("你好")
    assert chat("取消") == messages.NOTHING_TO_CANCEL


@pytest.mark.parametrize("command", ["转人工", "人工", "人工客服", "转人工！"])
def test_human_command_opens_a_handoff_ticket(chat: Any, tmp_path: Path, command: str) -> None:
    reply = chat(command)
    (ref,) = re.findall(r"RG\d{6}", reply)
    assert handoff.ASK_QUESTION in reply
    assert rows(tmp_path, "SELECT ref, kind, status FROM tickets") == [(ref, "handoff", "open")]


def test_human_command_wins_over_the_feedback_form(chat: Any, tmp_path: Path) -> None:
    chat("我要反馈")
    assert re.search(r"RG\d{6}", chat("转人工"))
    assert rows(tmp_path, "SELECT kind FROM tickets") == [("handoff",)]


# -- the feedback form ------------------------------------------------------------------------


def test_feedback_form_asks_then_stores_the_next_message(chat: Any, tmp_path: Path) -> None:
    assert chat("我要反馈") == feedback.ASK
    reply = chat("食堂的饭越来越贵了")
    (ref,) = re.findall(r"FK\d{6}", reply)
    assert rows(tmp_path, "SELECT ref, kind, text FROM tickets") == [
        (ref, "feedback", "食堂的饭越来越贵了")
    ]
    # The form is over: the same words again are not feedback any more.
    assert chat("食堂的饭越来越贵了") == messages.NOT_UNDERSTOOD


def test_too_short_feedback_in_the_form_is_refused_and_the_form_stays(
    chat: Any, tmp_path: Path
) -> None:
    chat("我要反馈")
    assert chat("太吵") == feedback.TOO_SHORT
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]
    assert re.search(r"FK\d{6}", chat("食堂的饭越来越贵了"))
    assert rows(tmp_path, "SELECT text FROM tickets") == [("食堂的饭越来越贵了",)]


def test_dialog_state_survives_another_app_instance_on_the_same_database(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    first_worker = make_app(clock=clock).test_client()
    second_worker = make_app(clock=clock).test_client()
    assert say(first_worker, mp_peer, "我要反馈") == feedback.ASK
    assert re.search(r"FK\d{6}", say(second_worker, mp_peer, "食堂的饭越来越贵了"))
    assert rows(tmp_path, "SELECT text FROM tickets") == [("食堂的饭越来越贵了",)]


@pytest.mark.parametrize(
    ("idle_setting", "minutes_later", "still_in_form"),
    [
        (15, 14, True),
        (15, 15, True),
        (15, 16, False),
        (5, 4, True),
        (5, 6, False),
    ],
)
def test_dialog_is_forgotten_after_the_idle_minutes(
    make_app: Any,
    mp_peer: WeChatPeer,
    clock: Clock,
    tmp_path: Path,
    idle_setting: int,
    minutes_later: int,
    still_in_form: bool,
) -> None:
    client = make_app(clock=clock, dialog_idle_minutes=idle_setting).test_client()
    say(client, mp_peer, "我要反馈")
    clock.now = NOW + timedelta(minutes=minutes_later)
    reply = say(client, mp_peer, "食堂的饭越来越贵了")
    if still_in_form:
        assert re.search(r"FK\d{6}", reply)
        assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(1,)]
    else:
        assert reply == messages.NOT_UNDERSTOOD
        assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]
        assert say(client, mp_peer, "取消") == messages.NOTHING_TO_CANCEL


def test_dialogs_of_two_readers_are_kept_apart(chat: Any, tmp_path: Path) -> None:
    chat("我要反馈", "oFirst")
    assert chat("食堂的饭越来越贵了", "oSecond") == messages.NOT_UNDERSTOOD
    assert re.search(r"FK\d{6}", chat("食堂的饭越来越贵了", "oFirst"))
    assert rows(tmp_path, "SELECT user_id FROM tickets") == [("oFirst",)]


# -- intents ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["今天天气怎么样", "asdfgh", "食堂的饭越来越贵了"])
def test_unknown_text_is_not_understood(chat: Any, text: str) -> None:
    assert chat(text) == messages.NOT_UNDERSTOOD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好", "你好呀"),
        ("今天几点闭馆", "开馆"),
        ("反馈：三楼空调太冷", "谢谢你的反馈"),
        ("你能做什么", greeting.HELP_TITLE),
    ],
)
def test_text_goes_to_its_intents_action(chat: Any, text: str, expected: str) -> None:
    assert expected in chat(text)


def test_non_text_messages_are_answered_kindly(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock
) -> None:
    client = make_app(clock=clock).test_client()
    image = mp_peer.message(READER, "image", {"PicUrl": "http://127.0.0.1/x.jpg", "MsgId": "5"})
    assert send(client, mp_peer, image) == messages.UNSUPPORTED_KIND
    assert send(client, mp_peer, mp_peer.voice(READER, "")) == messages.VOICE_UNRECOGNISED
    assert "开馆" in send(client, mp_peer, mp_peer.voice(READER, "今天几点闭馆"))


# -- events: QR scenes -----------------------------------------------------------------------


class SceneProbe:
    """Two test scene actions that record the tracker they were given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        probe = self

        def action(action_name: str) -> type[LibraryAction]:
            class SceneAction(LibraryAction):
                NAME = action_name

                def run(
                    self,
                    dispatcher: CollectingDispatcher,
                    tracker: Tracker,
                    domain: dict[str, Any],
                ) -> Events:
                    probe.seen.append((action_name, tracker.latest_message))
                    dispatcher.utter_message(text=f"{action_name} ok")
                    return []

            return SceneAction

        self.capability = Capability(
            name="test_seats",
            actions=(action("action_test_checkin"), action("action_test_vip")),
            scenes={"seat:": "action_test_checkin", "seat:vip:": "action_test_vip"},
        )


@pytest.fixture
def scenes(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> tuple[SceneProbe, Any]:
    probe = SceneProbe()
    client = make_app(clock=clock, capabilities=(*CAPABILITIES, probe.capability)).test_client()
    return probe, lambda callback: send(client, mp_peer, callback)


@pytest.mark.parametrize(
    ("event", "key", "action", "scene"),
    [
        ("SCAN", "seat:A101", "action_test_checkin", "seat:A101"),
        ("subscribe", "qrscene_seat:A101", "action_test_checkin", "seat:A101"),
        ("SCAN", "seat:vip:7", "action_test_vip", "seat:vip:7"),
        ("subscribe", "qrscene_seat:vip:7", "action_test_vip", "seat:vip:7"),
    ],
)
def test_a_scan_goes_to_the_capability_claiming_the_longest_prefix(
    scenes: tuple[SceneProbe, Any],
    mp_peer: WeChatPeer,
    event: str,
    key: str,
    action: str,
    scene: str,
) -> None:
    probe, send_event = scenes
    assert send_event(mp_peer.event(READER, event, key)) == f"{action} ok"
    ((name, latest),) = probe.seen
    assert name == action
    assert latest["metadata"]["event_key"] == scene
    assert latest["metadata"]["channel"] == "mp"
    assert latest["metadata"]["user_id"] == READER
    assert latest["text"] == ""  # a scan carries no words of the reader


def test_an_unclaimed_scene_is_answered_and_a_plain_subscribe_is_welcomed(
    scenes: tuple[SceneProbe, Any], mp_peer: WeChatPeer
) -> None:
    probe, send_event = scenes
    assert send_event(mp_peer.event(READER, "SCAN", "shelf:B2")) == messages.UNKNOWN_SCENE
    # Following through an unclaimed QR code is still a follow: welcome.
    assert send_event(mp_peer.event(READER, "subscribe", "qrscene_shelf:B2")).startswith("欢迎关注")
    assert send_event(mp_peer.event(READER, "subscribe")).startswith("欢迎关注")
    assert probe.seen == []


@pytest.mark.parametrize(
    ("event", "key"),
    [("unsubscribe", ""), ("VIEW", "https://lib.example.edu.cn"), ("LOCATION", "")],
)
def test_silent_events_get_success(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, event: str, key: str
) -> None:
    client = make_app(clock=clock).test_client()
    response = post(client, mp_peer.event(READER, event, key))
    assert (response.status_code, response.data) == (200, b"success")


# -- events: menu clicks through [menu.keys] -------------------------------------------------

MENU_KEYS: dict[str, str] = tomllib.loads(
    (ROOT / "config" / "library.example.toml").read_text(encoding="utf-8")
)["menu"]["keys"]

# What the action behind each intent says first; a new key without a row here fails below.
EXPECTED_BY_INTENT = {
    "help": greeting.HELP_TITLE,
    "opening_hours": "开馆",
    "feedback": feedback.ASK,
    "human": "RG",
    "reserve": reservation_words.ASK_TYPE,
    "my_reservations": reservation_words.NO_BOOKINGS,
    "check_in": "现在没有可以签到的预约",
}


def test_every_example_menu_key_has_an_expectation() -> None:
    assert set(MENU_KEYS.values()) <= set(EXPECTED_BY_INTENT)


@pytest.mark.parametrize(("key", "intent"), sorted(MENU_KEYS.items()))
def test_menu_click_runs_the_action_of_its_intent(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path, key: str, intent: str
) -> None:
    client = make_app(clock=clock).test_client()
    reply = send(client, mp_peer, mp_peer.event(READER, "CLICK", key))
    assert EXPECTED_BY_INTENT[intent] in reply
    # The menu key is not the reader's words: no ticket ever says "FEEDBACK" or "HUMAN".
    assert rows(tmp_path, "SELECT count(*) FROM tickets WHERE text = ?", key) == [(0,)]


def test_feedback_menu_click_opens_the_form(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    assert send(client, mp_peer, mp_peer.event(READER, "CLICK", "FEEDBACK")) == feedback.ASK
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]
    assert re.search(r"FK\d{6}", say(client, mp_peer, "三楼自习室空调太冷"))
    assert rows(tmp_path, "SELECT text FROM tickets") == [("三楼自习室空调太冷",)]


def test_human_menu_click_asks_for_the_question(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    client = make_app(clock=clock).test_client()
    reply = send(client, mp_peer, mp_peer.event(READER, "CLICK", "HUMAN"))
    assert handoff.ASK_QUESTION in reply
    assert rows(tmp_path, "SELECT text FROM tickets") == [("",)]


def test_an_unknown_menu_key_is_answered(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> None:
    client = make_app(clock=clock).test_client()
    reply = send(client, mp_peer, mp_peer.event(READER, "CLICK", "NO_SUCH_KEY"))
    assert reply == messages.UNKNOWN_MENU_KEY


def test_menu_keys_come_from_the_library_config(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Path
) -> None:
    config = tmp_path / "library.toml"
    example = (ROOT / "config" / "library.example.toml").read_text(encoding="utf-8")
    config.write_text(example.replace('HELP = "help"', 'HELP = "help"\nASK_US = "human"'))
    client = make_app(clock=clock, library_config=str(config)).test_client()
    assert "RG" in send(client, mp_peer, mp_peer.event(READER, "CLICK", "ASK_US"))


def test_wecom_enter_agent_is_quiet(make_app: Any, work_peer: WeChatPeer, clock: Clock) -> None:
    client = make_app(clock=clock).test_client()
    response = post(client, work_peer.event("zhangsan", "enter_agent"))
    assert (response.status_code, response.data) == (200, b"success")
