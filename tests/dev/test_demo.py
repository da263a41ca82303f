"""`python -m bot demo` (what `make run` runs): gunicorn plus two children, the fake WeChat API
server on the web port + 100 and the scheduler, whose sender delivers the outbox to that fake.
The children stop with the demo, a worker restart leaves them alone, and a taken port is one
clear line and a non-zero exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.core.clock import system_clock
from bot.core.db import connect
from bot.outbound import outbox
from tests.conftest import ROOT, TEST_KEYS, bot_env, free_port, wait_healthy

pytestmark = pytest.mark.slow

OFFSET = 100  # the fake listens on the web port + 100
STARTUP = 90  # seconds: the first start may train the intent model


def demo_env(tmp_path: Path) -> dict[str, str]:
    """As `make run` runs it: no keys (the public demo keys), the database in tmp_path."""
    keys = {f"LIBBOT_{name.upper()}" for name in TEST_KEYS}
    env = {k: v for k, v in bot_env(tmp_path).items() if k not in keys}
    env["LIBBOT_DATABASE"] = str(tmp_path / "demo.sqlite3")
    return env


def port_pair() -> int:
    """A free port whose + 100 is free too."""
    for _ in range(50):
        port = free_port()
        if port + OFFSET <= 65535 and not listening(port + OFFSET):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + OFFSET))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free pair of ports")


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """Running (a zombie has exited: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> dict[int, str]:
    """pid → command line of the processes whose parent is `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[bytes], int]]]:
    """Start `python -m bot demo --port <free>`; waits until /healthz answers."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[subprocess.Popen[bytes], int]:
        port = port_pair()
        log = open(tmp_path / f"demo-{port}.log", "wb")  # noqa: SIM115 - closed with process
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            cwd=ROOT,
            env=demo_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so a failed test can end all it started
        )
        started.append(process)
        wait_healthy(f"http://127.0.0.1:{port}", process, timeout=STARTUP)
        return process, port

    yield start
    for process in started:
        # The group the demo leads: whatever a failed test left of it (the demo, or orphans).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def log_of(tmp_path: Path, port: int) -> str:
    return (tmp_path / f"demo-{port}.log").read_text(errors="replace")


def test_demo_runs_the_fake_and_the_scheduler_and_stops_them(
    demo: Callable[[], tuple[subprocess.Popen[bytes], int]], tmp_path: Path
) -> None:
    process, port = demo()
    web, fake = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + OFFSET}"
    assert f"Fake WeChat API: {fake}" in log_of(tmp_path, port)
    assert requests.get(fake + "/_fake/health", timeout=5).json() == {"ok": True}

    children = children_of(process.pid)
    [fake_pid] = [pid for pid, cmd in children.items() if "bot.dev.fake_wechat" in cmd]
    [scheduler_pid] = [pid for pid, cmd in children.items() if "bot scheduler" in cmd]
    workers = [pid for pid, cmd in children.items() if "bot demo" in cmd]
    assert workers, children

    # A reader writes through the simulator (the 48-hour window opens), and a late reply is
    # queued in the demo's database: the scheduler's sender delivers it to the fake.
    reply = requests.post(web + "/dev/chat/send", json={"user": "oDemoTest", "text": "你好"})
    assert reply.status_code == 200, reply.text
    db = connect(tmp_path / "demo.sqlite3")
    outbox.enqueue(
        db,
        channel="mp",
        recipient="oDemoTest",
        kind="late_reply",
        payload={"type": "text", "content": "你预约的座位 A101 已确认"},
        idempotency_key="test-demo:1",
        now=system_clock(),
    )
    db.close()

    def delivered() -> list[dict[str, Any]]:
        query = {"to": "oDemoTest", "channel": "mp"}
        return requests.get(fake + "/_fake/messages", params=query, timeout=5).json()["messages"]

    [message] = wait_for(delivered, "the scheduler to deliver the outbox row to the fake")
    assert message["content"]["text"] == {"content": "你预约的座位 A101 已确认"}
    # The simulator (in a web worker) reads it back from the fake.
    pushed = requests.get(web + "/dev/chat/pushed", params={"user": "oDemoTest"}, timeout=5)
    answer = pushed.json()
    assert answer["source"] == "fake"
    assert [m["reply"]["text"] for m in answer["delivered"]] == ["你预约的座位 A101 已确认"]

    # A web worker that exits (gunicorn restarts it) leaves the fake and the scheduler alone.
    os.kill(workers[0], signal.SIGTERM)
    wait_for(lambda: not alive(workers[0]), "the worker to exit")
    wait_for(lambda: len(workers_of(process.pid)) == len(workers), "gunicorn to replace it")
    assert alive(fake_pid) and alive(scheduler_pid)
    assert requests.get(fake + "/_fake/health", timeout=5).json() == {"ok": True}

    before_stop = children_of(process.pid)
    assert {fake_pid, scheduler_pid} <= set(before_stop)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    for pid in before_stop:
        wait_for(lambda pid=pid: not alive(pid), f"pid {pid} to stop", timeout=10)
    assert not listening(port + OFFSET)
    assert not listening(port)


def workers_of(pid: int) -> list[int]:
    return [child for child, cmd in children_of(pid).items() if "bot demo" in cmd]


def test_ctrl_c_stops_the_demo_and_its_children(
    demo: Callable[[], tuple[subprocess.Popen[bytes], int]],
) -> None:
    process, port = demo()
    children = children_of(process.pid)
    assert any("bot.dev.fake_wechat" in cmd for cmd in children.values())
    assert any("bot scheduler" in cmd for cmd in children.values())
    # Ctrl-C in a terminal signals the whole foreground group; the demo must not rely on it.
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    for pid in children:
        wait_for(lambda pid=pid: not alive(pid), f"pid {pid} to stop", timeout=10)
    assert not listening(port + OFFSET)


@pytest.mark.parametrize("taken", ["fake", "web"])
def test_a_taken_port_is_one_clear_line(tmp_path: Path, taken: str) -> None:
    port = port_pair()
    blocked = port + OFFSET if taken == "fake" else port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", blocked))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            cwd=ROOT,
            env=demo_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert not listening(port if taken == "fake" else port + OFFSET)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"port {blocked} " in line and "taken" in line
    assert "--port" in line
    assert not (tmp_path / "demo.sqlite3").exists()  # it stopped before doing anything
