"""Delivery across processes: token refresh races, kill -9 mid-batch and restart, the
scheduler delivering a slow handler's late reply, and `menu push` — all against the fake
WeChat API server, with the bot's parts in real subprocesses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core import users
from bot.core.clock import system_clock
from bot.core.db import connect, migrate
from bot.core.values import MP, WORK, Incoming
from bot.dev.fake_wechat import FakeWeChat
from bot.outbound import outbox
from bot.outbound.sender import IN_FLIGHT
from bot.schema import all_migrations
from handlers.registry import CAPABILITIES
from tests.conftest import DELIVERY_KEYS, ROOT, TEST_KEYS, bot_env, python

pytestmark = pytest.mark.slow

CUSTOM = "/cgi-bin/message/custom/send"
WECOM_SEND = "/cgi-bin/message/send"


def env_for(tmp_path: Path, fake: FakeWeChat, **extra: str) -> dict[str, str]:
    return bot_env(
        tmp_path,
        **DELIVERY_KEYS,
        wechat_api_base=fake.url,
        work_api_base=fake.url,
        mp_send_rate="0",
        work_send_rate="0",
        **extra,
    )


def database(tmp_path: Path) -> Any:
    path = tmp_path / "served.sqlite3"
    migrate(path, all_migrations(CAPABILITIES))
    return connect(path)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def start_sender(tmp_path: Path, env: dict[str, str], n: int) -> subprocess.Popen[bytes]:
    log = open(tmp_path / f"sender-{n}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbound.sender_process"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


# -- tokens ----------------------------------------------------------------------------------

TOKEN_RACE = """
import sys, time
from bot.outbound.sender import build_apis
from bot.core.services import build_services
from bot.core.settings import Settings
start, stale = float(sys.argv[1]), sys.argv[2] or None
mp, _ = build_apis(build_services(Settings.from_env()))
while time.time() < start:
    time.sleep(0.001)
print(mp.tokens.token(mp.account, stale=stale))
"""


def race(tmp_path: Path, fake: FakeWeChat, stale: str = "", processes: int = 4) -> set[str]:
    env = env_for(tmp_path, fake)
    start = time.time() + 3  # every process imported and waiting before it
    running = [
        subprocess.Popen(
            [sys.executable, "-c", TOKEN_RACE, str(start), stale],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    tokens = set()
    for process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        tokens.add(out.strip())
    return tokens


def test_processes_racing_for_a_token_fetch_it_once(
    tmp_path: Path, fake_wechat: FakeWeChat
) -> None:
    database(tmp_path)
    # A slow token endpoint widens the race: the others arrive while the first one fetches.
    fake_wechat.inject(path="/cgi-bin/token", delay=0.5)
    first = race(tmp_path, fake_wechat)
    assert len(first) == 1
    assert fake_wechat.token_fetches() == 1
    # All of them told the token is bad at once: one refresh between them, not four (each
    # new 公众号 token would knock out the one fetched before it).
    fake_wechat.inject(path="/cgi-bin/token", delay=0.5)
    second = race(tmp_path, fake_wechat, stale=first.pop())
    assert len(second) == 1
    assert fake_wechat.token_fetches() == 2


# -- kill -9 mid-batch ------------------------------------------------------------------------


def queue_mp(db: Any, count: int) -> None:
    now = system_clock()
    for n in range(count):
        reader = f"oKill{n:04d}"
        users.touch(db, Incoming(MP, reader, "text", now, text="hi"), now)
        outbox.enqueue(
            db,
            channel=MP,
            recipient=reader,
            kind="notice",
            payload={"type": "text", "content": f"第{n}条"},
            idempotency_key=f"kill:{n}",
            now=now,
        )


def test_kill_9_mid_batch_and_restart_neither_loses_nor_duplicates_mp_messages(
    tmp_path: Path, fake_wechat: FakeWeChat
) -> None:
    db = database(tmp_path)
    queue_mp(db, 300)
    # Each call takes a little while, so the kills land mid-batch and often mid-call.
    fake_wechat.inject(path=CUSTOM, delay=0.01, times=None)
    env = env_for(tmp_path, fake_wechat)
    for n, share in enumerate((60, 150)):
        sender = start_sender(tmp_path, env, n)
        wait_for(lambda share=share: len(fake_wechat.messages(channel=MP)) >= share)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=10)
    last = start_sender(tmp_path, env, 9)
    assert last.wait(timeout=120) == 0

    delivered = Counter(m.to for m in fake_wechat.messages(channel=MP))
    rows = {r["recipient"]: r for r in db["outbox"].rows}
    assert max(delivered.values()) == 1, "a reader got a message twice"
    in_flight = [r for r in rows.values() if r["status"] == "failed"]
    assert all(r["last_error"] == IN_FLIGHT for r in in_flight)
    assert len(in_flight) <= 2  # at most the one call each kill interrupted
    for reader, row in rows.items():
        if row["status"] == "sent":
            assert delivered[reader] == 1
        else:
            assert row["status"] == "failed"  # in flight: delivered or not, never twice
    assert sum(1 for r in rows.values() if r["status"] == "sent") >= 298


def test_kill_9_mid_wecom_request_is_resent_as_the_same_request_and_dropped_as_duplicate(
    tmp_path: Path, fake_wechat: FakeWeChat
) -> None:
    db = database(tmp_path)
    now = system_clock()
    for n in range(2500):
        outbox.enqueue(
            db,
            channel=WORK,
            recipient=f"u{n:04d}",
            kind="announcement",
            payload={"type": "text", "content": "明天 9:00 起二楼研讨间维修"},
            idempotency_key=f"maint:{n}",
            now=now,
        )
    # The second request is slow: the sender is killed while WeCom is taking it.
    fake_wechat.inject(path=WECOM_SEND, delay=0.01, times=1)  # the first: quick
    fake_wechat.inject(path=WECOM_SEND, delay=1.0, times=1)
    env = env_for(tmp_path, fake_wechat)
    sender = start_sender(tmp_path, env, 0)
    wait_for(lambda: len(fake_wechat.messages(channel=WORK)) >= 1000 and _in_flight(db))
    time.sleep(0.3)
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    time.sleep(1.0)  # the fake finishes the request the dead sender left behind
    last = start_sender(tmp_path, env, 1)
    assert last.wait(timeout=120) == 0

    delivered = Counter(m.to for m in fake_wechat.messages(channel=WORK))
    assert len(delivered) == 2500 and max(delivered.values()) == 1
    assert {r["status"] for r in db["outbox"].rows} == {"sent"}
    assert any(c.fault == "duplicate" for c in fake_wechat.calls(path=WECOM_SEND))


def _in_flight(db: Any) -> bool:
    return db.execute("SELECT count(*) FROM outbox WHERE status = 'sending'").fetchone()[0] > 0


# -- the scheduler delivers late replies; menu push ---------------------------------------------


def test_the_scheduler_delivers_a_slow_handlers_late_reply(
    tmp_path: Path, fake_wechat: FakeWeChat, served_bot: Any, mp_peer: Any
) -> None:
    env = env_for(tmp_path, fake_wechat)
    db = database(tmp_path)
    now = system_clock()
    users.touch(db, Incoming(MP, "oLate", "text", now, text="hi"), now)
    outbox.enqueue(
        db,
        channel=MP,
        recipient="oLate",
        kind="late_reply",
        payload={"type": "text", "content": "查到了：三楼还有 12 个空座"},
        idempotency_key="late:oLate:1",
        now=now,
        priority=outbox.PRIORITY_REPLY,
    )
    log = open(tmp_path / "scheduler.log", "wb")  # noqa: SIM115
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "bot", "scheduler"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        wait_for(lambda: bool(fake_wechat.messages(to="oLate")), timeout=60)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=20)
    [message] = fake_wechat.messages(to="oLate")
    assert message.content["text"]["content"] == "查到了：三楼还有 12 个空座"
    assert db["outbox"].get(1)["status"] == "sent"


def test_menu_push_creates_both_menus_at_the_fake(tmp_path: Path, fake_wechat: FakeWeChat) -> None:
    result = python("-m", "bot", "menu", "push", env=env_for(tmp_path, fake_wechat))
    assert result.returncode == 0, result.stderr
    assert "公众号 menu created (3 buttons)" in result.stdout
    assert f"WeCom app {TEST_KEYS['work_agent_id']} menu created" in result.stdout
    calls = fake_wechat.calls(path="/cgi-bin/menu/create")
    assert [c.account for c in calls] == [
        f"mp:{TEST_KEYS['mp_appid']}",
        f"work:{TEST_KEYS['work_corp_id']}",
    ]
    assert calls[1].query["agentid"] == TEST_KEYS["work_agent_id"]
    keys = json.dumps(calls[0].body, ensure_ascii=False)
    assert '"key": "HOURS"' in keys and "联系馆员" in keys


def test_menu_push_reports_a_refusal_in_a_sentence(tmp_path: Path, fake_wechat: FakeWeChat) -> None:
    fake_wechat.inject(path="/cgi-bin/menu/create", errcode=40016)
    result = python("-m", "bot", "menu", "push", env=env_for(tmp_path, fake_wechat))
    assert result.returncode == 1
    assert "error: WeChat refused the menu: 40016" in result.stderr
    assert "Traceback" not in result.stderr


def test_menu_push_without_accounts_says_what_to_set(tmp_path: Path) -> None:
    env = bot_env(tmp_path)
    result = python("-m", "bot", "menu", "push", env=env)
    assert result.returncode == 1
    assert "LIBBOT_MP_SECRET" in result.stderr
