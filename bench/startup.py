"""How long a new server takes to answer, with the intent model already cached.

Each run starts `python -m bot serve --workers 1` (bench.server.Server: a fresh database, the
model read from the usual cache) and polls GET /healthz every 10 ms. Two figures a run:

- *ready*: from spawning the master to the first 200 — the interpreter, the CLI's imports,
  migrations, the fork and the worker's app: what an admin waits for after a restart;
- *worker*: from the moment the worker process exists to that first 200 — what gunicorn
  waits for when it replaces a worker (the goal: under 2 s).

The median of `--runs` is printed. Train the model first (`make model`) or the first run
includes training and says so.

    .venv/bin/python bench/startup.py --runs 7
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.machine import machine
from bench.server import HOST, Server

POLL = 0.01
TIMEOUT = 120.0


def answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=1)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def one_run(workdir: Path) -> tuple[float, float]:
    workdir.mkdir()
    spawned = time.monotonic()
    server = Server(workers=1, threads=4, workdir=workdir)
    worker_seen: float | None = None
    try:
        while time.monotonic() - spawned < TIMEOUT:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited: {server.tail()}")
            if worker_seen is None and server.worker_pids():
                worker_seen = time.monotonic()
            if worker_seen is not None and answers(server.port):
                now = time.monotonic()
                return now - spawned, now - worker_seen
            time.sleep(POLL)
        raise RuntimeError(f"server did not answer within {TIMEOUT:.0f} s: {server.tail()}")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs; the median is reported")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be between 1 and 50")
    info = machine()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"startup benchmark at {commit or '?'}: {info['nproc']} CPU(s) ({info['cpu']}), "
        f"Python {info['python']}"
    )
    ready, worker = [], []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        for n in range(args.runs):
            total, after_fork = one_run(Path(folder) / str(n))
            ready.append(total)
            worker.append(after_fork)
            print(f"run {n + 1}: ready {total:.2f} s, worker {after_fork:.2f} s")
    print(
        f"median: ready {statistics.median(ready):.2f} s, "
        f"worker {statistics.median(worker):.2f} s (goal < 2 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
