"""The production server under benchmark, shared by the scripts that call its webhook.

`Server` runs `python -m bot serve` (gunicorn, gthread) on 127.0.0.1 with test keys, a fresh
database and its own log — or, with `command=CEILING`, bench/ceiling_app.py under the same
gunicorn settings; `mp_peer()` plays the WeChat server for those keys.
"""

from __future__ import annotations

import http.client
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.core.values import MP
from bot.dev.callback_client import WeChatPeer
from bot.wechat.protocol import Account

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, always
# Test keys (public, like tests/conftest.py's): never point a real 公众号 here.
KEYS = {
    "LIBBOT_MP_TOKEN": "bench-mp-token",
    "LIBBOT_MP_APPID": "wx1234567890abcdef",
    "LIBBOT_MP_AES_KEY": "dGVzdC1tcC1hZXMta2V5LTMyLWJ5dGVzLWxvbmctISE",
}
# What Server runs (after the interpreter, before --host …): the real server, or the ceiling.
SERVE = ("-m", "bot", "serve")
CEILING = ("-m", "bench.ceiling_app")


def mp_peer() -> WeChatPeer:
    """The 公众号 side of WeChat for KEYS, in safe (AES) mode."""
    return WeChatPeer(
        Account(MP, KEYS["LIBBOT_MP_TOKEN"], KEYS["LIBBOT_MP_AES_KEY"], KEYS["LIBBOT_MP_APPID"]),
        mode="safe",
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Server:
    """`python -m bot serve` in a subprocess, with its own temporary database and log.

    `command` may name another server taking the same flags (CEILING); `name` keeps the logs
    and databases of servers running side by side apart.
    """

    def __init__(
        self,
        workers: int,
        threads: int,
        workdir: Path,
        log_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
        command: tuple[str, ...] = SERVE,
        name: str = "serve",
    ) -> None:
        self.workers = workers
        self.threads = threads
        self.name = name
        self.port = free_port()
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = (log_dir or workdir) / f"{name}-w{workers}.log"
        self.db_path = workdir / f"bench-{name}-w{workers}.sqlite3"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIBBOT_")}
        env.update(KEYS)
        env.update(
            LIBBOT_DATABASE=str(self.db_path),
            LIBBOT_SECRET_KEY="bench-secret",
            PYTHONPATH=str(ROOT),
            **(extra_env or {}),
        )
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                *command,
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own process group: a Ctrl-C in the terminal reaches only the benchmark, which
            # then stops the server itself (gracefully, and surely).
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    # Every worker must be up before we measure, not only the first one.
                    if self.worker_pids() and len(self.worker_pids()) >= self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not become healthy: {self.tail()}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its live workers."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            # Fields after the command name (which may contain spaces) start at state.
            rest = stat[stat.rindex(")") + 2 :].split()
            total += int(rest[11]) + int(rest[12])  # utime, stime
        return total / ticks

    def context_switches(self) -> int:
        """Voluntary + involuntary context switches of every thread of the master and its
        live workers: each hand-off between threads (the GIL, a queue, a lock) adds some."""
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:
                continue
            for task in tasks:
                try:
                    status = (task / "status").read_text()
                except OSError:  # a thread that ended meanwhile
                    continue
                for line in status.splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn: graceful shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        """Log lines above INFO, tracebacks and worker restarts (what a reader should see)."""
        text = self.log_path.read_text(errors="replace")
        pattern = re.compile(r"\b(WARNING|ERROR|CRITICAL|Traceback|WORKER TIMEOUT|Booting worker)")
        lines = [line for line in text.splitlines() if pattern.search(line)]
        boots = [line for line in lines if "Booting worker" in line]
        others = [line for line in lines if "Booting worker" not in line]
        extra = len(boots) - self.workers
        if extra > 0:
            others.append(f"{extra} worker(s) booted after the first {self.workers}")
        return others


def busy_cpu_seconds() -> float:
    """CPU time every process on the machine has used (user, nice, system, irq, softirq)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]
