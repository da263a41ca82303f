"""Benchmark: draining a large outbox against the fake WeChat API server.

Queues `--messages` rows (default 50,000) in a fresh database in a temporary folder, starts
the project's fake WeChat API server (`python -m bot.dev.fake_wechat`) in its own process on
127.0.0.1, and times the real sender (`bot.outbound.sender`) draining them with rate limiting off:

- 公众号: one customer-service call per message (every reader wrote within 48 hours);
- WeCom: the same announcement to every member, batched 1000 members per `message/send`.

Reported per channel: messages a second, wall time, calls made, and the sender process's
peak memory (ru_maxrss) after each phase; checked: every row `sent`, and the fake server
received exactly one message per row, none twice.

    .venv/bin/python bench/outbox.py [--messages 50000] [--channels mp,work] [--json out.json]

Results are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.clock import isoformat, system_clock
from bot.core.db import migrate, write_transaction
from bot.core.services import build_services
from bot.core.settings import Settings
from bot.outbound import outbox
from bot.outbound.sender import build_sender
from bot.schema import all_migrations
from handlers.registry import CAPABILITIES

MAX_MESSAGES = 500_000
KEYS = {
    "mp_token": "bench-token",
    "mp_appid": "wxbench000000001",
    "mp_secret": "bench-secret",
    "work_corp_id": "wwbench0000001",
    "work_agent_id": "1000002",
    "work_token": "bench-work-token",
    "work_secret": "bench-work-secret",
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def start_fake() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.dev.fake_wechat", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"the fake server did not start: {url!r}")
    return process, url


def queue(db: Any, channel: str, count: int) -> float:
    """Queue `count` rows (and, for the 公众号, readers inside the 48 hours); seconds taken."""
    now = system_clock()
    stamp = isoformat(now)
    started = time.perf_counter()
    with write_transaction(db):
        if channel == "mp":
            db.conn.executemany(
                "INSERT INTO users (channel, user_id, first_seen, last_interaction) "
                "VALUES ('mp', ?, ?, ?)",
                [[f"oBench{n:06d}", stamp, stamp] for n in range(count)],
            )
        for n in range(count):
            recipient = f"oBench{n:06d}" if channel == "mp" else f"u{n:06d}"
            content = (
                f"第{n}条：你预约的座位 15 分钟后开始" if channel == "mp" else "本周六闭馆检修"
            )
            outbox.enqueue(
                db,
                channel=channel,
                recipient=recipient,
                kind="notice",
                payload={"type": "text", "content": content},
                idempotency_key=f"bench:{channel}:{n}",
                now=now,
            )
    return time.perf_counter() - started


COUNT_SCRIPT = """
import json, sys, requests
url, channel, path = sys.argv[1:4]
delivered = requests.get(url + "/_fake/messages", params={"channel": channel}, timeout=300)
messages = delivered.json()["messages"]
calls = requests.get(url + "/_fake/calls", params={"path": path}, timeout=300).json()["calls"]
print(json.dumps([len(messages), len({m["to"] for m in messages}), len(calls)]))
"""


def fake_count(url: str, channel: str, path: str) -> tuple[int, int, int]:
    """(messages delivered, distinct recipients, calls on `path`) as the fake recorded them.
    Counted in another process: the fake's JSON for 50,000 messages (each WeCom one repeats
    its 1000-member request) would otherwise dwarf the sender's own peak memory."""
    counted = subprocess.run(
        [sys.executable, "-c", COUNT_SCRIPT, url, channel, path],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    delivered, recipients, calls = json.loads(counted.stdout)
    return delivered, recipients, calls


def run(channel: str, count: int, folder: Path, url: str) -> dict[str, Any]:
    database = folder / f"bench-{channel}.sqlite3"
    os.environ.update(
        {f"LIBBOT_{k.upper()}": v for k, v in KEYS.items()}
        | {
            "LIBBOT_DATABASE": str(database),
            "LIBBOT_WECHAT_API_BASE": url,
            "LIBBOT_WORK_API_BASE": url,
            "LIBBOT_MP_SEND_RATE": "0",
            "LIBBOT_WORK_SEND_RATE": "0",
            "LIBBOT_LOG_LEVEL": "WARNING",
        }
    )
    settings = Settings.from_env()
    migrate(settings.database, all_migrations(CAPABILITIES))
    services = build_services(settings)
    queued_s = queue(services.db(), channel, count)
    sender = build_sender(services)
    started = time.perf_counter()
    done = sender.drain(rounds=10 * count)
    elapsed = time.perf_counter() - started
    peak = peak_mb()
    statuses = dict(
        services.db().execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    )
    path = "/cgi-bin/message/custom/send" if channel == "mp" else "/cgi-bin/message/send"
    delivered, recipients, calls = fake_count(url, channel, path)
    return {
        "channel": channel,
        "messages": count,
        "queue_s": round(queued_s, 2),
        "drain_s": round(elapsed, 2),
        "messages_per_s": round(count / elapsed, 1),
        "sent": done.sent,
        "statuses": statuses,
        "calls": calls,
        "delivered": delivered,
        "recipients": recipients,
        "peak_rss_mb": round(peak, 1),
        "ok": statuses == {"sent": count} and delivered == recipients == count,
    }


def one(channel: str, count: int, folder: str) -> int:
    fake, url = start_fake()
    try:
        result = run(channel, count, Path(folder), url)
    finally:
        fake.terminate()
        fake.wait(timeout=30)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        return one(argv[1], int(argv[2]), argv[3])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--channels", default="mp,work")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= MAX_MESSAGES:
        parser.error(f"--messages must be between 1 and {MAX_MESSAGES}")
    channels = [c for c in args.channels.split(",") if c]
    if not set(channels) <= {"mp", "work"}:
        parser.error("--channels takes mp and/or work")
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cpu(s); peak before: "
        f"{peak_mb():.1f} MB",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="guanban-bench-") as folder:
        for channel in channels:
            # Each channel in a fresh process (its own peak memory) against a fresh fake.
            child = subprocess.run(
                [sys.executable, __file__, "--one", channel, str(args.messages), folder],
                capture_output=True,
                text=True,
                timeout=3600,
                check=False,
            )
            if child.returncode not in (0, 1):
                print(child.stderr, file=sys.stderr)
                return 2
            result = json.loads(child.stdout.strip().splitlines()[-1])
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
