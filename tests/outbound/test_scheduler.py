"""The scheduler: one at a time across processes, jobs from capabilities in a persistent
store, never in web workers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.outbound.scheduler import JOB_TABLE, all_jobs
from handlers.kit.actions import Capability, Job
from handlers.registry import CAPABILITIES
from tests.conftest import ROOT, bot_env, python


def ticks(db: Path) -> list[int]:
    try:
        with sqlite3.connect(db) as conn:
            return [pid for (pid,) in conn.execute("SELECT pid FROM ticks ORDER BY rowid")]
    except sqlite3.OperationalError:  # no ticks table yet
        return []


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def schedulers(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = bot_env(tmp_path)

    def start() -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"scheduler-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.outbound.scheduler_process"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def test_two_schedulers_started_at_once_run_each_job_once_and_the_second_takes_over(
    schedulers: Any, tmp_path: Path
) -> None:
    db = tmp_path / "served.sqlite3"
    first, second = schedulers(), schedulers()
    wait_for(lambda: len(ticks(db)) >= 4)
    runners = set(ticks(db))
    assert len(runners) == 1, f"jobs ran in {runners}"
    (runner,) = runners
    assert runner in (first.pid, second.pid)
    standby = second if runner == first.pid else first
    assert standby.poll() is None  # standing by, not exited

    os.kill(runner, signal.SIGKILL)
    count = len(ticks(db))
    wait_for(lambda: standby.pid in ticks(db)[count:])
    assert set(ticks(db)[count:]) == {standby.pid}


def test_sigterm_stops_the_scheduler_cleanly(schedulers: Any, tmp_path: Path) -> None:
    process = schedulers()
    wait_for(lambda: len(ticks(tmp_path / "served.sqlite3")) >= 1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_jobs_are_stored_with_the_timezone_coalescing_and_a_grace_time(
    schedulers: Any, tmp_path: Path
) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    db = tmp_path / "served.sqlite3"
    schedulers()
    wait_for(lambda: len(ticks(db)) >= 1)
    store = SQLAlchemyJobStore(url=f"sqlite:///{db}", tablename=JOB_TABLE)
    store.start(None, "default")  # type: ignore[arg-type]
    jobs = {job.id: job for job in store.get_all_jobs()}
    assert {"core.refresh_tokens", "core.prune_outbox", "test.tick"} <= set(jobs)
    prune = jobs["core.prune_outbox"]
    assert prune.coalesce is True
    assert prune.misfire_grace_time == 600
    assert str(prune.trigger.timezone) == "Asia/Shanghai"
    assert prune.func_ref == "bot.outbound.scheduler:run_job" and prune.args == (
        "core.prune_outbox",
    )


def test_capabilities_declare_jobs_and_ids_must_be_unique() -> None:
    assert {"core.refresh_tokens", "core.prune_outbox"} <= set(all_jobs(CAPABILITIES))
    twice = Capability(
        name="twice",
        actions=(),
        jobs=(
            Job("x.same", lambda services: None, "interval", {"minutes": 1}),
            Job("x.same", lambda services: None, "interval", {"minutes": 2}),
        ),
    )
    with pytest.raises(ValueError, match=r"x\.same"):
        all_jobs((*CAPABILITIES, twice))


def test_web_workers_never_load_the_scheduler(tmp_path: Path) -> None:
    code = (
        "import sys, threading\n"
        "from bot import create_app\n"
        f"app = create_app({{'database': {str(tmp_path / 'w.sqlite3')!r}}})\n"
        "app.test_client().get('/healthz')\n"
        "print('apscheduler' in sys.modules, sorted(t.name for t in threading.enumerate()))\n"
    )
    result = python("-c", code, env=bot_env(tmp_path))
    assert result.returncode == 0, result.stderr
    loaded, threads = result.stdout.split(" ", 1)
    assert loaded == "False"
    assert "sender" not in threads
