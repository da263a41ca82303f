"""A bot built with only some of the capabilities starts and does its everyday work: the
webhook answers through the real path, the console renders, the scheduler gathers its jobs,
the demo seeds and `qr` prints only what the registered capabilities print.

Each build leaves out something the rest of the bot could easily assume is there: everything
but greeting and hours, everything but reservations, everything but tickets (the hand-off and
the console's ticket pages; crisis and feedback still file tickets through tickets.api).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.core import users
from bot.core.values import MP
from bot.dev.callback_client import WeChatPeer, reply_text
from bot.outbound.scheduler import all_jobs, core_jobs
from bot.wechat import words as messages
from bot.wechat.router import BUSY
from handlers.kit.capability import Capability
from handlers.registry import CAPABILITIES
from handlers.tickets import api as tickets
from tests.conftest import Clock, Console, post
from tests.wechat.test_router import NOW

READER = "oPartialReader"


def keeping(names: set[str]) -> tuple[Capability, ...]:
    return tuple(c for c in CAPABILITIES if c.name in names)


def leaving_out(name: str) -> tuple[Capability, ...]:
    return tuple(c for c in CAPABILITIES if c.name != name)


BUILDS: dict[str, tuple[Capability, ...]] = {
    "greeting-and-hours": keeping({"greeting", "opening_hours"}),
    "without-reservations": leaving_out("reservations"),
    "without-tickets": leaving_out(tickets.NAME),  # the hand-off and the console's ticket pages
}


@pytest.fixture(params=sorted(BUILDS))
def build(request: pytest.FixtureRequest) -> tuple[Capability, ...]:
    return BUILDS[request.param]


def test_each_build_leaves_something_out() -> None:
    # A capability renamed in the registry must not turn a build into the whole bot unseen.
    names = {c.name for c in CAPABILITIES}
    assert {"greeting", "opening_hours", "reservations", tickets.NAME} <= names
    for capabilities in BUILDS.values():
        assert 0 < len(capabilities) < len(CAPABILITIES)


def helps(capabilities: tuple[Capability, ...]) -> set[str]:
    return {line for c in capabilities for line in c.help}


# -- the webhook ---------------------------------------------------------------------------------


@pytest.fixture
def chat(
    make_app: Callable[..., Any], mp_peer: WeChatPeer, build: tuple[Capability, ...]
) -> Callable[..., str]:
    client = make_app(clock=Clock(NOW), capabilities=build).test_client()

    def send(text: str = "", **event: str) -> str:
        if event:
            callback = mp_peer.event(READER, event.pop("event"), **event)
        else:
            callback = mp_peer.text(READER, text)
        response = post(client, callback)
        assert response.status_code == 200, response.data
        return reply_text(mp_peer.read_reply(response.data))

    return send


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "帮助",
        "今天几点闭馆",
        "转人工",
        "我想自杀",
        "反馈：三楼自习室空调太冷了",
        "明天上午八点到十二点约个靠窗的座位",
        "我的预约",
        "签到",
        "取消",
    ],
)
def test_the_webhook_answers_every_kind_of_message_calmly(
    chat: Callable[..., str], text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        reply = chat(text)
    # BUSY is the router's answer to an unexpected failure: a missing capability is none.
    assert reply and reply != BUSY
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_greeting_help_and_the_hours_answer(
    chat: Callable[..., str], build: tuple[Capability, ...]
) -> None:
    assert chat("你好").startswith("你好呀")
    assert "闭馆" in chat("今天几点闭馆") or "开馆" in chat("今天几点闭馆")
    listed = chat("帮助")
    missing = helps(CAPABILITIES) - helps(build)
    assert all(line in listed for line in helps(build))
    assert not [line for line in missing if line in listed]
    if not any(c.name == tickets.NAME for c in build):
        # The help promises only what this bot does: 转人工 is the hand-off's.
        assert "转人工" not in listed


def test_a_crisis_always_gets_the_hotlines(
    chat: Callable[..., str], build: tuple[Capability, ...]
) -> None:
    reply = chat("我想自杀")
    assert "12356" in reply
    if not any(c.name == tickets.NAME for c in build):
        # No console shows the ticket: no librarian may be promised.
        assert "馆员" not in reply


def test_feedback_promises_an_answer_only_where_librarians_read_it(
    chat: Callable[..., str], build: tuple[Capability, ...]
) -> None:
    if not any(c.name == "feedback" for c in build):
        assert chat("反馈：三楼自习室空调太冷了") != BUSY
        return
    reply = chat("反馈：三楼自习室空调太冷了")
    assert reply.startswith("谢谢你的反馈")
    assert ("馆员" in reply) == any(c.name == tickets.NAME for c in build)


def test_a_global_command_without_its_capability_says_so(
    chat: Callable[..., str], build: tuple[Capability, ...]
) -> None:
    if not any(c.name == tickets.NAME for c in build):
        assert chat("转人工") == messages.NOT_IN_THIS_BOT


def test_only_a_build_with_the_hand_off_offers_it_when_lost(
    chat: Callable[..., str], build: tuple[Capability, ...]
) -> None:
    handoff = any(c.name == tickets.NAME for c in build)
    lost = [chat("zxqv wplk"), chat(event="SCAN", key="shelf:unknown")]
    if not any(c.name == "reservations" for c in build):
        lost.append(chat("明天上午八点到十二点约个座位"))  # understood, but not built here
        assert "这个功能还在准备中" in lost[-1]
    assert lost[0] == (messages.NOT_UNDERSTOOD if handoff else messages.NOT_UNDERSTOOD_ALONE)
    assert lost[1] == (messages.UNKNOWN_SCENE if handoff else messages.UNKNOWN_SCENE_ALONE)
    assert all(("转人工" in reply) == handoff for reply in lost), lost


def test_a_banned_reader_is_offered_the_hand_off_only_where_it_exists(
    make_app: Callable[..., Any], mp_peer: WeChatPeer, build: tuple[Capability, ...]
) -> None:
    app = make_app(clock=Clock(NOW), capabilities=build)
    client = app.test_client()

    def send(text: str) -> str:
        return reply_text(mp_peer.read_reply(post(client, mp_peer.text(READER, text)).data))

    send("你好")
    db = app.extensions["guanban"].services.db()
    assert users.ban(db, MP, READER, NOW + timedelta(days=3), "多次违约", NOW)
    notice = send("今天几点闭馆")
    assert notice.startswith("抱歉，你暂时无法使用馆伴的服务")
    assert ("转人工" in notice) == any(c.name == tickets.NAME for c in build)


@pytest.mark.parametrize(
    "event",
    [
        {"event": "subscribe"},
        {"event": "CLICK", "key": "HOURS"},
        {"event": "CLICK", "key": "RESERVE"},
        {"event": "CLICK", "key": "FEEDBACK"},
        {"event": "CLICK", "key": "HUMAN"},
        {"event": "CLICK", "key": "HELP"},
        {"event": "SCAN", "key": "seat:A001"},
    ],
    ids=lambda e: f"{e['event']}-{e.get('key', '')}",
)
def test_events_and_menu_clicks_are_answered(
    chat: Callable[..., str], event: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        reply = chat(**dict(event))
    assert reply and reply != BUSY
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# -- the console ---------------------------------------------------------------------------------

NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
HREF = re.compile(r'href="([^"]+)"')


def test_the_console_renders_every_page_of_its_menu(
    make_app: Callable[..., Any],
    mp_peer: WeChatPeer,
    build: tuple[Capability, ...],
) -> None:
    console = Console(make_app(cookie_secure=False, clock=Clock(NOW), capabilities=build))
    post(console.client, mp_peer.text(READER, "你好"))  # a reader, for the profile page
    login = console.client.get("/console/login")
    assert login.status_code == 200 and 'name="password"' in login.get_data(as_text=True)
    console.add_staff("ann", "admin")
    assert console.login("ann").status_code == 302
    dashboard = console.client.get("/console/")
    assert dashboard.status_code == 200
    page = dashboard.get_data(as_text=True)
    nav = NAV.search(page)
    assert nav, page
    links = HREF.findall(nav.group(1))
    assert "/console/readers/" in links
    for link in links:
        assert console.client.get(link).status_code == 200, link
    profile = console.client.get(f"/console/readers/{MP}/{READER}")
    assert profile.status_code == 200
    token = console.api_token("ann")
    assert console.api("GET", "/api/v1/openapi.json", token).status_code == 200
    assert console.api("GET", "/api/v1/dashboard/summary", token).status_code == 200
    history = console.api("GET", f"/api/v1/readers/{MP}/{READER}/history", token)
    assert history.status_code == 200


# -- the scheduler, the demo and the CLI ---------------------------------------------------------


def test_the_scheduler_gathers_only_the_builds_jobs(build: tuple[Capability, ...]) -> None:
    expected = [j.id for j in core_jobs()] + [j.id for c in build for j in c.jobs]
    assert list(all_jobs(build)) == expected


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("LIBBOT_DATABASE", str(database))
    monkeypatch.setenv("LIBBOT_SECRET_KEY", "test-secret")
    return database


def test_the_demo_seeds(
    build: tuple[Capability, ...], cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init-db", "--demo-data"], capabilities=build) == 0
    out = capsys.readouterr().out
    assert "demo data: 4 reader(s) added" in out
    assert main(["init-db", "--demo-data"], capabilities=build) == 0  # once only
    assert "demo data: 0 reader(s) added" in capsys.readouterr().out


def test_qr_prints_only_the_registered_capabilities_codes(
    build: tuple[Capability, ...],
    cli_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "qr"
    printing = [c for c in build if c.qr is not None]
    if printing:
        assert main(["qr", "--out", str(out), "--format", "png", "--only", "A001"], build) == 0
        assert capsys.readouterr().out.startswith("1 QR codes")
        assert [p.name for p in (out / "png").iterdir()] == ["A001.png"]
        return
    # Nobody in this build prints codes: no capability's flags, and the command says so.
    with pytest.raises(SystemExit):
        main(["qr", "--zone", "K3"], build)
    capsys.readouterr()
    assert main(["qr", "--out", str(out)], build) == 1
    assert "no capability" in capsys.readouterr().err
    assert not out.exists()
