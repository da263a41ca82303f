"""Benchmark: the seat-release rush — readers race for tomorrow's seats through the webhook.

Starts `python -m bot serve` (gunicorn, several workers) on 127.0.0.1 with a fresh database
and a temporary copy of config/library.example.toml whose seat release_time is a minute a
little ahead. A few readers ask in the seconds before that minute (and are told to wait);
then every reader asks in its first seconds, as in chat — 「明天上午八点到十二点约个座位」,
then 「确认」 when the bot asks for it — as signed, encrypted (safe mode) callbacks over
`--clients` keep-alive connections. Afterwards the database is checked: every seat booked
once, no seat and no reader double-booked, every 「预约成功」 a real booking of that reader.

    .venv/bin/python bench/seat_rush.py [--workers 4] [--readers 2000] [--clients 128]

Exits 1 on a double booking, a message not answered within 5 s of the reader sending it (no
reply, an error, a late or a holding reply), a seat left free while readers were turned
away, or an unexpected reply. Results are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import itertools
import json
import random
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import tomllib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import machine
from bench.server import HOST, Server, busy_cpu_seconds, mp_peer, percentile
from bot.core.clock import TZ
from bot.dev.callback_client import WeChatPeer
from bot.wechat.protocol import ProtocolError
from bot.wechat.words import HOLDING
from handlers.kit.forms import ASK_CONFIRM
from handlers.library.calendar import LibraryCalendar
from handlers.reservations.spaces import from_config as spaces_from_config

CONFIG = ROOT / "config" / "library.example.toml"
DEADLINE = 5.0  # seconds: WeChat gives up on a reply after 5 (and resends)
REQUEST_TIMEOUT = 15.0  # longer, so that a late reply is measured rather than cut off
LEAD = 30  # seconds at least from start-up to the release minute
ACTIVE = "('booked', 'checked_in', 'away')"
# What a reply says, by the first of these words in it (handlers/reservations.py, bookings.py).
OUTCOMES = (("booked", "预约成功"), ("full", "约满了"), ("not yet", "开放预约"))
OUTCOMES += (("summary", ASK_CONFIRM[:8]),)  # 「回复「确认」提交」
REF = re.compile(r"YY\d{6}")
HEADERS = {"Content-Type": "text/xml", "Connection": "keep-alive"}


@dataclass
class Sent:
    reader: int
    kind: str  # early | request | confirm
    due: float  # wall clock: when the reader sent it (and WeChat's 5 s began)
    at: float = 0.0  # wall clock: when one of the client's connections was free to send it
    seconds: float = 0.0  # reply latency on the connection
    outcome: str = ""  # booked | full | not yet | summary | held | other | error | http NNN
    text: str = ""

    @property
    def from_send(self) -> float:
        return self.at - self.due + self.seconds


# -- the library's config for this run ---------------------------------------------------------


def release_minute(now: datetime) -> datetime:
    """The first whole minute at least LEAD seconds away, and not just before midnight, when
    「明天」 would change its meaning during the rush."""
    moment = (now + timedelta(seconds=LEAD + 60)).replace(second=0, microsecond=0)
    while moment.time() >= clock_time(23, 57) or moment.time() == clock_time(0):
        moment += timedelta(minutes=1)
    return moment


def write_config(path: Path, release: datetime) -> tuple[str, str, int]:
    """The example config with seats released at `release` and tomorrow open; returns what
    readers ask for, the period, and the number of seats."""
    head, seat_rules = CONFIG.read_text().split("[spaces.rules.seat]", 1)
    seat_rules = re.sub(r'release_time\s*=\s*"[^"]*"', f'release_time = "{release:%H:%M}"',
                        seat_rules, count=1)  # fmt: skip
    text = f"{head}[spaces.rules.seat]{seat_rules}"
    day = release.date() + timedelta(days=1)
    hours = LibraryCalendar.from_config(tomllib.loads(text)).hours_on(day)
    if not hours.is_open:
        # Seats open one day ahead only, so the rush needs tomorrow open: lift what shuts it.
        print(f"tomorrow ({day}) is closed ({hours.note or hours.source}); opening it here")
        tables = re.split(r"(?=^\[)", text, flags=re.M)
        text = "".join(t for t in tables if not _shuts(t, day))
        text += f'\n[[hours.special]]\ndate = {day}\nhours = "08:00-22:00"\nnote = "压力测试"\n'
        hours = LibraryCalendar.from_config(tomllib.loads(text)).hours_on(day)
    if not (hours.opens and hours.closes):
        raise SystemExit(f"could not open {day} in the benchmark's copy of {CONFIG.name}")
    spaces = spaces_from_config(tomllib.loads(text))
    assert spaces.rules["seat"].release_time == release.time(), "release_time not replaced"
    path.write_text(text)
    seats = sum(s.type == "seat" for s in spaces.spaces.values())
    if hours.opens <= clock_time(8) and hours.closes >= clock_time(12):
        return "明天上午八点到十二点约个座位", "08:00–12:00", seats
    start = datetime.combine(day, hours.opens)
    start += timedelta(minutes=-start.minute % 30)
    end = min(start + timedelta(hours=4), datetime.combine(day, hours.closes))
    return f"明天{start:%H:%M}到{end:%H:%M}约个座位", f"{start:%H:%M}–{end:%H:%M}", seats


def _shuts(table: str, day: date) -> bool:
    """A [[hours.closures]] table whose dates include `day`."""
    found = re.search(r"start\s*=\s*(\S+)\s*\nend\s*=\s*(\S+)", table)
    return (
        table.startswith("[[hours.closures]]") and bool(found) and found[1] <= str(day) <= found[2]
    )


# -- the rush ----------------------------------------------------------------------------------


class Schedule:
    """Messages due at wall-clock moments; a free connection takes the earliest one due."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, int, str]] = []  # due, order, reader, kind
        self.cond = threading.Condition()
        self.open = 0  # queued or being sent: the rush is over at 0
        self.order = itertools.count()

    def add(self, due: float, reader: int, kind: str) -> None:
        with self.cond:
            heapq.heappush(self.heap, (due, next(self.order), reader, kind))
            self.open += 1
            self.cond.notify()

    def take(self) -> Sent | None:
        with self.cond:
            while self.heap or self.open:
                wait = self.heap[0][0] - time.time() if self.heap else None
                if wait is not None and wait <= 0:
                    due, _, reader, kind = heapq.heappop(self.heap)
                    return Sent(reader, kind, due, time.time())
                self.cond.wait(wait)
            return None

    def done(self) -> None:
        with self.cond:
            self.open -= 1
            if self.open == 0:
                self.cond.notify_all()


def send(
    peer: WeChatPeer, conn: http.client.HTTPConnection, sent: Sent, user: str, text: str
) -> None:
    """One callback, signed as it is sent; fills in the latency, the outcome and the text."""
    callback = peer.text(user, text)
    started = time.perf_counter()
    for attempt in (1, 2):
        try:
            conn.request("POST", callback.url_path, callback.body.encode(), HEADERS)
            response = conn.getresponse()
            data = response.read()
            break
        except (OSError, http.client.HTTPException) as error:
            conn.close()  # an idle keep-alive connection the server closed: resend once
            if attempt == 2 or isinstance(error, TimeoutError):
                sent.seconds, sent.outcome = time.perf_counter() - started, "error"
                sent.text = f"{type(error).__name__}: {error}"
                return
    sent.seconds = time.perf_counter() - started
    if response.will_close:
        conn.close()
    if response.status != 200:
        sent.outcome = f"http {response.status}"
        return
    try:
        sent.text = peer.read_reply(data).get("Content", "")
    except ProtocolError as error:
        sent.outcome, sent.text = "other", f"bad reply: {error}"
        return
    found = next((name for name, word in OUTCOMES if word in sent.text), "other")
    sent.outcome = "held" if sent.text == HOLDING else found


def user(reader: int, seed: int) -> str:
    return f"oRush{seed:02d}R{reader:05d}"


def rush(server: Server, args: argparse.Namespace, ask: str, start: float) -> list[Sent]:
    """Every reader's conversation, from the early askers to the last 「确认」."""
    peer, schedule, log = mp_peer(), Schedule(), []
    rng = random.Random(args.seed)
    for reader in range(args.readers):
        schedule.add(start + rng.uniform(0, args.spread), reader, "request")
    for reader in rng.sample(range(args.readers), min(args.early, args.readers)):
        schedule.add(start - rng.uniform(0.5, 3.0), reader, "early")

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT)
        while (sent := schedule.take()) is not None:
            try:
                text = "确认" if sent.kind == "confirm" else ask
                send(peer, conn, sent, user(sent.reader, args.seed), text)
                log.append(sent)  # list.append is atomic
                if sent.kind == "request" and sent.outcome in ("summary", "held"):
                    # The reader reads the summary and types 「确认」: a second or so.
                    schedule.add(time.time() + rng.uniform(0.3, 1.5), sent.reader, "confirm")
            finally:
                schedule.done()  # even if this thread fails, the others must not wait for it
        conn.close()

    pool = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return log


def warm_up(server: Server, ask: str, n: int) -> None:
    """Every worker loads its model before the minute — and the config must be ours: each
    reply has to say that tomorrow's seats are not open yet."""
    peer = mp_peer()

    def one(i: int) -> Sent:
        sent = Sent(i, "warm-up", time.time())
        conn = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT)
        send(peer, conn, sent, f"oRushWarm{i:04d}", ask)
        conn.close()
        return sent

    with ThreadPoolExecutor(n) as pool:
        for sent in pool.map(one, range(n)):
            if sent.outcome != "not yet":
                raise SystemExit(
                    f"warm-up: expected 「…开放预约…」, got {sent.outcome}: {sent.text}"
                )


# -- what happened -----------------------------------------------------------------------------


def check_database(path: Path, day: date) -> dict[str, Any]:
    """Bookings as the database holds them, and overlaps that must not exist."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    overlap = (
        "SELECT count(*) FROM bookings a JOIN bookings b ON {same} AND a.day = b.day "
        "AND a.id < b.id AND a.start < b.end AND b.start < a.end "
        f"WHERE a.status IN {ACTIVE} AND b.status IN {ACTIVE}"
    )
    one = db.execute(
        "SELECT count(*), count(DISTINCT space_id), count(DISTINCT channel || user_id) "
        f"FROM bookings WHERE day = ? AND space_type = 'seat' AND status IN {ACTIVE}",
        [day.isoformat()],
    ).fetchone()
    found = dict(zip(("bookings", "distinct_seats", "distinct_readers"), one, strict=True))
    found["seat_double"] = db.execute(overlap.format(same="a.space_id = b.space_id")).fetchone()[0]
    found["reader_double"] = db.execute(
        overlap.format(same="a.channel = b.channel AND a.user_id = b.user_id")
    ).fetchone()[0]
    found["refs"] = dict(db.execute(f"SELECT ref, user_id FROM bookings WHERE status IN {ACTIVE}"))
    db.close()
    return found


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {f"p{p}": round(percentile(ordered, p) * 1000, 1) for p in (50, 99)} | {
        "max": round(ordered[-1] * 1000, 1)
    }


def summarise(log: list[Sent], db: dict[str, Any], start: float, seed: int) -> dict[str, Any]:
    rushed = [s for s in log if s.kind != "early"]
    booked = [s for s in log if s.outcome == "booked"]
    last = max(s.at + s.seconds for s in rushed) - start
    last_booking = max((s.at + s.seconds for s in booked), default=start) - start
    kinds: dict[str, list[Sent]] = defaultdict(list)
    for s in log:
        kinds[f"{s.kind} → {s.outcome}"].append(s)
    refs = {m[0]: s.reader for s in booked if (m := REF.search(s.text))}
    outcomes: dict[int, set[str]] = defaultdict(set)
    for s in log:
        outcomes[s.reader].add(s.outcome)
    errors = [s for s in log if s.outcome == "error" or s.outcome.startswith("http")]
    late = [s for s in log if s.seconds > DEADLINE and s.outcome != "error"]
    held = [s for s in log if s.outcome == "held"]
    return {
        "messages": len(log),
        "rush_s": round(last, 2),
        "messages_per_s": round(len(rushed) / last, 1),
        "booked_replies": len(booked),
        "bookings_s": round(last_booking, 2),
        "bookings_per_s": round(len(booked) / last_booking, 1) if booked else 0.0,
        "kinds": {
            kind: {"n": len(sent), **_ms([s.seconds for s in sent])}
            | {"over_5s": sum(s.seconds > DEADLINE for s in sent)}
            | {f"from_send_{k}": v for k, v in _ms([s.from_send for s in sent]).items()}
            | {"from_send_over_5s": sum(s.from_send > DEADLINE for s in sent)}
            for kind, sent in sorted(kinds.items())
        },
        "readers_booked": sum("booked" in o for o in outcomes.values()),
        "readers_told_full": sum("full" in o and "booked" not in o for o in outcomes.values()),
        "full_replies_with_offers": sum(s.outcome == "full" and "可以换成" in s.text for s in log),
        "early_told_to_wait": sum(s.kind == "early" and s.outcome == "not yet" for s in log),
        "unanswered": len(errors) + len(late) + len(held),
        "errors": len(errors),
        "late": len(late),
        "held": len(held),
        "late_from_send": sum(s.from_send > DEADLINE for s in log),
        "other_replies": sorted({s.text[:80] for s in log if s.outcome == "other"})[:3],
        "booked_replies_not_in_db": len(booked)
        - len(refs)
        + sum(db["refs"].get(ref) != user(reader, seed) for ref, reader in refs.items()),
        "database": {k: v for k, v in db.items() if k != "refs"},
    }


def print_summary(r: dict[str, Any], seats: int) -> None:
    d = r["database"]
    print(
        f"{r['messages']} messages, the last answered {r['rush_s']} s after the release: "
        f"{r['messages_per_s']} messages/s; {r['booked_replies']} bookings in "
        f"{r['bookings_s']} s: {r['bookings_per_s']} bookings/s"
    )
    print(f"{'':22} {'reply latency, ms':^34} │ {'from the reader’s send, ms':^26}")
    print(f"{'message → reply':<22} {'n':>5} {'p50':>7} {'p99':>7} {'max':>7} {'>5 s':>5} │ "
          f"{'p50':>7} {'p99':>7} {'max':>7} {'>5 s':>5}")  # fmt: skip
    for kind, k in r["kinds"].items():
        print(
            f"{kind:<22} {k['n']:>5} {k['p50']:>7.0f} {k['p99']:>7.0f} {k['max']:>7.0f} "
            f"{k['over_5s']:>5} │ {k['from_send_p50']:>7.0f} {k['from_send_p99']:>7.0f} "
            f"{k['from_send_max']:>7.0f} {k['from_send_over_5s']:>5}"
        )
    print(
        f"readers: {r['readers_booked']} booked; {r['readers_told_full']} told the seats were "
        f"gone ({r['full_replies_with_offers']} replies offered other times); "
        f"{r['early_told_to_wait']} who asked early told when booking opens"
    )
    print(
        f"database: {d['bookings']} active seat bookings for {seats} seats, "
        f"{d['distinct_seats']} distinct seats, {d['distinct_readers']} distinct readers; "
        f"「预约成功」 replies not matching the reader's booking: {r['booked_replies_not_in_db']}"
    )
    print(f"double bookings: {d['seat_double']} of a seat, {d['reader_double']} of a reader")
    print(
        f"not answered within 5 s: {r['unanswered']} (late {r['late']}, errors or non-200 "
        f"{r['errors']}, holding replies {r['held']}); over 5 s from the reader's send, "
        f"waiting for a connection included: {r['late_from_send']}"
    )
    for text in r["other_replies"]:
        print(f"  unexpected reply: {text!r}")


def failures(r: dict[str, Any], seats: int, readers: int) -> list[str]:
    """What went wrong, in a few words each; empty when the rush went as it must."""
    d = r["database"]
    checks = {
        "double bookings": d["seat_double"] or d["reader_double"],
        "messages not answered within 5 s": r["unanswered"],
        # WeChat's 5 s start when the reader sends, not when a connection is free.
        "messages answered over 5 s after the reader sent them": r["late_from_send"],
        "unexpected replies": r["other_replies"],
        "「预约成功」 replies without their booking": r["booked_replies_not_in_db"],
        "bookings made but not replied": d["bookings"] != r["booked_replies"],
        f"not {min(seats, readers)} bookings": d["bookings"] != min(seats, readers),
    }
    return [name for name, wrong in checks.items() if wrong]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    add("--threads", type=int, default=4, help="threads per worker (default 4)")
    add("--readers", type=int, default=2000, help="readers racing (default 2000)")
    add("--clients", type=int, default=128, help="concurrent connections (default 128)")
    add("--spread", type=float, default=5.0, help="seconds over which readers ask (default 5)")
    add("--early", type=int, default=50, help="readers who also ask just before (default 50)")
    add("--seed", type=int, default=1, help="random seed: arrivals, early askers, think times")
    add("--json", type=Path, help="also write the results to this file")
    add("--log-dir", type=Path, help="keep the server log here")
    args = parser.parse_args(argv)
    if not (1 <= args.readers <= 20_000 and 1 <= args.clients <= 256 and args.workers <= 16):
        parser.error("--readers 1–20000, --clients 1–256, --workers at most 16")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` also stops the server
    release = release_minute(datetime.now(TZ))
    day = release.date() + timedelta(days=1)
    info = machine(workers=args.workers, threads=args.threads, clients=args.clients)
    with tempfile.TemporaryDirectory(prefix="guanban-rush-") as workdir:
        config = Path(workdir) / "library.toml"
        ask, period, seats = write_config(config, release)
        print(
            f"seat rush: {args.readers} readers for {seats} seats on {day} {period} 「{ask}」, "
            f"released at {release:%H:%M}; {args.workers} workers × {args.threads} threads, "
            f"{args.clients} connections, asking over {args.spread:g} s, {args.early} early; "
            f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}",
            flush=True,
        )
        env = {"LIBBOT_LIBRARY_CONFIG": str(config)}
        server = Server(args.workers, args.threads, Path(workdir), args.log_dir, env)
        try:
            server.wait_healthy()
            warm_up(server, ask, 2 * args.workers * args.threads)
            wait = release.timestamp() - 4 - time.time()
            print(f"server up; the release minute is {wait + 4:.0f} s away", flush=True)
            time.sleep(max(0.0, wait))
            cpu = (server.cpu_seconds(), time.process_time(), busy_cpu_seconds())
            log = rush(server, args, ask, release.timestamp())
            cpu_server = server.cpu_seconds() - cpu[0]
            cpu_client = time.process_time() - cpu[1]
            # Anything else running at the same time takes CPU from the server: say so.
            cpu_others = max(0.0, busy_cpu_seconds() - cpu[2] - cpu_server - cpu_client)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping the server", file=sys.stderr)
            return 130
        finally:
            server.stop()
        problems = server.log_problems()
        result = summarise(log, check_database(server.db_path, day), release.timestamp(), args.seed)
    result["cpu_ms_per_message"] = {
        "server": round(cpu_server * 1000 / len(log), 2),
        "client": round(cpu_client * 1000 / len(log), 2),
    }
    result["cpu_s_other_processes"] = round(cpu_others, 1)
    print_summary(result, seats)
    print(
        f"CPU per message: server {result['cpu_ms_per_message']['server']} ms, client "
        f"{result['cpu_ms_per_message']['client']} ms; other processes "
        f"{result['cpu_s_other_processes']} CPU-s during the rush; server log: "
        + (f"{len(problems)} notable line(s):" if problems else "no warnings or errors")
    )
    for line in problems[:5]:
        print("   ", line)
    if cpu_others > 0.05 * cpu_server:
        print("note: other processes took CPU during the rush: these figures are not clean")
    wrong = failures(result, seats, args.readers)
    print(f"FAIL: {'; '.join(wrong)}" if wrong else "PASS: every seat booked once, in time")
    if args.json:
        report = {"benchmark": "seat_rush", "machine": info, "release": release.isoformat()}
        report |= {"settings": vars(args), "result": result, "server_log": problems}
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
        print(f"results written to {args.json}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
