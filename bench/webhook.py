"""Benchmark: 公众号 safe-mode (AES) text callbacks against the real production server.

Starts `python -m bot serve` (gunicorn, gthread) on 127.0.0.1 with a fresh database and
test keys, then for each concurrency level sends pre-built, signed and encrypted text
callbacks — each with its own MsgId, so every one is really handled and none is answered
from the dedup table — over keep-alive connections, one per client thread. Replies are
decrypted and checked after the timed window, so checking costs the client nothing while
it is measured. Client and server run on the same machine and share its cores: the client
is kept light (http.client, bodies built beforehand) and its CPU time is reported.

    .venv/bin/python bench/webhook.py --workers 2,4 --requests 2000 --levels 1,4,16,32

With --ceiling the same client also drives bench/ceiling_app.py — a Flask app doing only the
protocol work (signatures, decryption, XML, an encrypted fixed reply) — under the same
gunicorn settings, both servers up side by side and measured in alternating rounds, and
prints real/ceiling ratios of throughput and of server CPU per message:

    .venv/bin/python bench/webhook.py --ceiling --workers 2 --requests 4000 --levels 1,4,16

Results are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import math
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ceiling_app import REPLY as CEILING_REPLY
from bench.machine import machine
from bench.server import (
    CEILING,
    HOST,
    Server,
    busy_cpu_seconds,
    mp_peer,
    percentile,
)
from bot.core.errors import BUSY
from bot.dev.callback_client import Callback, WeChatPeer
from bot.wechat.protocol import ProtocolError
from bot.wechat.words import HOLDING

# (text, words one of which the reply must contain): opening hours and a greeting. These two,
# from 200 readers, were the benchmark's only texts until 2026-12-07 (`--texts two`): every
# cache keyed by text or reader looks better on them than it is.
TWO = [("今天几点闭馆", ("闭馆", "开馆")), ("你好", ("你好", "馆伴"))]
TEST_SET = ROOT / "intents" / "data" / "test.jsonl"
# The messages sent and the distinct openids they come from; set by use_texts().
MESSAGES: list[tuple[str, tuple[str, ...]]] = TWO
READERS = 200


def use_texts(kind: str, readers: int) -> None:
    """`two`: the two texts above. `mixed`: every text of the intent layer's test set (551
    sentences readers write: bookings, hours, crisis, feedback, 转人工, nonsense …), each
    reply right when it is an answer (text or news) and not the error sentence."""
    global MESSAGES, READERS
    READERS = readers
    if kind == "two":
        MESSAGES = TWO
        return
    lines = TEST_SET.read_text(encoding="utf-8").splitlines()
    MESSAGES = [(json.loads(line)["text"], ()) for line in lines if line.strip()]


MAX_REQUESTS_PER_LEVEL = 20_000
MAX_CONCURRENCY = 128
MAX_ROUNDS = 100
REQUEST_TIMEOUT = 10.0  # seconds; WeChat itself gives up after 5


@dataclass
class LevelResult:
    workers: int
    threads: int
    concurrency: int
    requests: int
    sent: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    reconnects: int = 0  # connections the server closed (keep-alive should make this 0)
    error_samples: list[str] = field(default_factory=list)
    verified: int = 0
    bad_replies: int = 0
    held_replies: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    server_switches: int = 0  # context switches of the server's threads (see Server)
    stopped_early: bool = False

    @property
    def server_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / max(self.sent, 1)

    @property
    def switches_per_request(self) -> float:
        return self.server_switches / max(self.sent, 1)


@dataclass
class Comparison:
    """One (workers, level) of --ceiling: the real server and the ceiling, measured in the
    same alternating rounds; ratios are real / ceiling."""

    workers: int
    threads: int
    concurrency: int
    rounds: int
    real: LevelResult
    ceiling: LevelResult
    throughput_ratio: float = 0.0  # real req/s ÷ ceiling req/s: 1.0 would be the ceiling
    cpu_ratio: float = 0.0  # real server CPU per message ÷ the ceiling's
    p50_ratio: float = 0.0
    p99_ratio: float = 0.0
    # The same two ratios for each pair of rounds (one real, one ceiling, back to back):
    # their spread says how much the machine's other load moved the figures.
    round_throughput_ratios: list[float] = field(default_factory=list)
    round_cpu_ratios: list[float] = field(default_factory=list)
    other_cpu_s: float = 0.0  # CPU used by every other process on the machine meanwhile


# -- the client --------------------------------------------------------------------------------


def build_callbacks(peer: WeChatPeer, n: int, level: int) -> list[tuple[Callback, int]]:
    """n callbacks with distinct MsgIds, alternating the messages, from READERS readers."""
    out = []
    for i in range(n):
        text_index = i % len(MESSAGES)
        user = f"oBench{level:03d}Reader{i % READERS:04d}"
        out.append((peer.text(user, MESSAGES[text_index][0]), text_index))
    return out


def run_level(
    server: Server,
    peer: WeChatPeer,
    concurrency: int,
    n: int,
    deadline: float,
    fixed_reply: str | None = None,
) -> LevelResult:
    return _run_level(server, peer, concurrency, n, deadline, fixed_reply)[0]


def _run_level(
    server: Server,
    peer: WeChatPeer,
    concurrency: int,
    n: int,
    deadline: float,
    fixed_reply: str | None = None,
) -> tuple[LevelResult, list[float]]:
    """The level's result, and its latencies in ms (sorted) for pooling rounds. A reply is
    right when it says `fixed_reply`, if given (the ceiling), else the real answer."""
    result = LevelResult(server.workers, server.threads, concurrency, n)
    # Signed now, so their timestamps are fresh (the server allows 300 s of skew).
    prepared = [
        (cb.url_path, cb.body.encode(), text_index)
        for cb, text_index in build_callbacks(peer, n, concurrency)
    ]
    latencies = [0.0] * n
    statuses: list[int] = [0] * n
    bodies: list[bytes] = [b""] * n
    errors: list[str] = []
    reconnects: list[int] = []
    errors_lock = threading.Lock()
    next_index = itertools.count()
    stop = threading.Event()
    start_line = threading.Barrier(concurrency + 1)
    headers = {"Content-Type": "text/xml", "Connection": "keep-alive"}

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT)
        # Connecting is not part of the timed window. If it fails, the first request
        # reconnects and counts the error should it fail again.
        with contextlib.suppress(OSError):
            conn.connect()
        try:
            start_line.wait()
        except threading.BrokenBarrierError:
            return
        perf = time.perf_counter
        while not stop.is_set():
            i = next(next_index)  # atomic under the GIL
            if i >= n:
                break
            path, body, _ = prepared[i]
            started = perf()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                latencies[i] = perf() - started
                with errors_lock:
                    errors.append(f"{type(error).__name__}: {error}")
                conn.close()
                conn = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT)
                continue
            latencies[i] = perf() - started
            statuses[i] = response.status
            bodies[i] = data
            if response.will_close:
                with errors_lock:
                    reconnects.append(i)
                conn.close()
                conn = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT)
            if perf() > deadline:
                stop.set()
        conn.close()

    pool = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in pool:
        thread.start()
    cpu_server_before = server.cpu_seconds()
    switches_before = server.context_switches()
    cpu_client_before = time.process_time()
    started = time.perf_counter()
    try:
        start_line.wait()
        started = time.perf_counter()
        for thread in pool:
            thread.join()
    except BaseException:
        stop.set()
        start_line.abort()
        raise
    result.seconds = time.perf_counter() - started
    result.client_cpu_s = round(time.process_time() - cpu_client_before, 3)
    result.server_cpu_s = round(server.cpu_seconds() - cpu_server_before, 3)
    result.server_switches = server.context_switches() - switches_before
    done = [i for i in range(n) if statuses[i] or latencies[i]]
    result.sent = len(done)
    result.stopped_early = result.sent < n
    result.statuses = {str(k): v for k, v in sorted(Counter(statuses[i] for i in done).items())}
    result.statuses.pop("0", None)  # transport errors are counted below
    result.errors = len(errors)
    result.reconnects = len(reconnects)
    result.error_samples = sorted(set(errors))[:5]
    result.rps = round(result.sent / result.seconds, 1) if result.seconds else 0.0
    timed = sorted(latencies[i] * 1000 for i in done)
    if timed:
        result.p50_ms = round(percentile(timed, 50), 2)
        result.p90_ms = round(percentile(timed, 90), 2)
        result.p99_ms = round(percentile(timed, 99), 2)
        result.max_ms = round(timed[-1], 2)

    # After the timed window: every 200 reply must decrypt, verify and say the right thing.
    for i in done:
        if statuses[i] != 200:
            continue
        expected = MESSAGES[prepared[i][2]][1]
        try:
            fields = peer.read_reply(bodies[i])
        except ProtocolError:
            result.bad_replies += 1
            continue
        content = fields.get("Content", "")
        if fixed_reply is not None:
            right = fields.get("MsgType") == "text" and content == fixed_reply
            result.verified += right
            result.bad_replies += not right
        elif content == HOLDING:  # the handler ran past the reply budget
            result.held_replies += 1
        elif fields.get("MsgType") == "text" and any(word in content for word in expected):
            result.verified += 1
        elif not expected and fields.get("MsgType") in ("text", "news") and content != BUSY:
            result.verified += 1  # a mixed text: any answer but the error sentence
        else:
            result.bad_replies += 1
    return result, timed


def warm_up(server: Server, peer: WeChatPeer, n: int, fixed_reply: str | None = None) -> None:
    """A few requests over several connections, so each worker has imported and connected."""
    if n <= 0:
        return
    concurrency = max(1, min(n, server.workers * server.threads))
    run_level(server, peer, concurrency, n, time.perf_counter() + 60, fixed_reply)


# -- the ceiling, side by side -----------------------------------------------------------------


def pooled(rounds: list[tuple[LevelResult, list[float]]], n: int) -> LevelResult:
    """The rounds of one server as one result: counts and times summed, latencies pooled."""
    first = rounds[0][0]
    total = LevelResult(first.workers, first.threads, first.concurrency, n)
    statuses: Counter[str] = Counter()
    samples: set[str] = set()
    for r, _ in rounds:
        total.sent += r.sent
        total.seconds += r.seconds
        statuses.update(r.statuses)
        samples.update(r.error_samples)
        total.errors += r.errors
        total.reconnects += r.reconnects
        total.verified += r.verified
        total.bad_replies += r.bad_replies
        total.held_replies += r.held_replies
        total.client_cpu_s += r.client_cpu_s
        total.server_cpu_s += r.server_cpu_s
        total.server_switches += r.server_switches
        total.stopped_early |= r.stopped_early
    total.statuses = dict(sorted(statuses.items()))
    total.error_samples = sorted(samples)[:5]
    total.client_cpu_s = round(total.client_cpu_s, 3)
    total.server_cpu_s = round(total.server_cpu_s, 3)
    total.rps = round(total.sent / total.seconds, 1) if total.seconds else 0.0
    total.seconds = round(total.seconds, 3)
    timed = sorted(ms for _, latencies in rounds for ms in latencies)
    if timed:
        total.p50_ms = round(percentile(timed, 50), 2)
        total.p90_ms = round(percentile(timed, 90), 2)
        total.p99_ms = round(percentile(timed, 99), 2)
        total.max_ms = round(timed[-1], 2)
    return total


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def compare_level(
    real: Server,
    ceiling: Server,
    peer: WeChatPeer,
    concurrency: int,
    n: int,
    rounds: int,
    deadline: float,
) -> Comparison:
    """`n` requests to each server at `concurrency`, in `rounds` slices that alternate
    real, ceiling, ceiling, real, real, … (each pair's order swapped, so that a slow drift of
    the machine's load favours neither side). The deadline is checked between pairs: a pair
    once started is finished, so that both sides of every pair send the same requests."""
    sizes = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
    done: tuple[list[tuple[LevelResult, list[float]]], ...] = ([], [])  # real's, ceiling's
    # Everything this benchmark runs — both servers, idle or not, and this process with its
    # untimed building and checking — against what the whole machine used meanwhile.
    before = (busy_cpu_seconds(), time.process_time(), real.cpu_seconds(), ceiling.cpu_seconds())
    for i, size in enumerate(sizes):
        if i and time.perf_counter() > deadline:
            break
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            server, fixed_reply = (real, None) if side == 0 else (ceiling, CEILING_REPLY)
            done[side].append(_run_level(server, peer, concurrency, size, math.inf, fixed_reply))
    after = (busy_cpu_seconds(), time.process_time(), real.cpu_seconds(), ceiling.cpu_seconds())
    busy, *own = (b - a for a, b in zip(before, after, strict=True))
    others = max(0.0, busy - sum(own))
    pairs = list(zip(*done, strict=True))
    r, c = pooled(done[0], n), pooled(done[1], n)
    return Comparison(
        workers=real.workers,
        threads=real.threads,
        concurrency=concurrency,
        rounds=len(pairs),
        real=r,
        ceiling=c,
        throughput_ratio=_ratio(r.rps, c.rps),
        cpu_ratio=_ratio(r.server_ms_per_request, c.server_ms_per_request),
        p50_ratio=_ratio(r.p50_ms, c.p50_ms),
        p99_ratio=_ratio(r.p99_ms, c.p99_ms),
        round_throughput_ratios=[_ratio(a.rps, b.rps) for (a, _), (b, _) in pairs],
        round_cpu_ratios=[
            _ratio(a.server_ms_per_request, b.server_ms_per_request) for (a, _), (b, _) in pairs
        ],
        other_cpu_s=round(others, 2),
    )


# -- reporting ---------------------------------------------------------------------------------


def print_header(label: bool = False) -> None:
    print(
        ("server  " if label else "")
        + f"{'workers':>7} {'threads':>7} {'conc':>5} {'sent':>6} {'req/s':>8} {'p50':>8} "
        f"{'p90':>8} {'p99':>8} {'max':>8} {'errors':>6} {'non-200':>7} {'closed':>6} {'ok':>6} "
        f"{'held':>5} {'bad':>4} {'cli ms/req':>10} {'srv ms/req':>10}"
    )


def print_row(r: LevelResult, label: str | None = None) -> None:
    non_200 = sum(v for k, v in r.statuses.items() if k != "200")
    per = max(r.sent, 1)
    print(
        (f"{label:<8}" if label is not None else "")
        + f"{r.workers:>7} {r.threads:>7} {r.concurrency:>5} {r.sent:>6} {r.rps:>8.1f} "
        f"{r.p50_ms:>8.2f} {r.p90_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.2f} {r.errors:>6} "
        f"{non_200:>7} {r.reconnects:>6} {r.verified:>6} {r.held_replies:>5} {r.bad_replies:>4} "
        f"{r.client_cpu_s * 1000 / per:>10.2f} {r.server_cpu_s * 1000 / per:>10.2f}",
        flush=True,
    )
    for sample in r.error_samples:
        print(f"        error: {sample}")
    if r.stopped_early:
        print("        (stopped early: the time limit was reached)")


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}" if values else "–"


def print_comparison(c: Comparison) -> None:
    print_row(c.real, "real")
    print_row(c.ceiling, "ceiling")
    throughput = f"{c.throughput_ratio:.2f} (pairs {_spread(c.round_throughput_ratios)})"
    cpu = f"{c.cpu_ratio:.2f} (pairs {_spread(c.round_cpu_ratios)})"
    print(
        f"        real/ceiling over {c.rounds} pairs of rounds: throughput {throughput}, "
        f"server CPU per message {cpu}, p50 {c.p50_ratio:.2f}, p99 {c.p99_ratio:.2f}; "
        f"context switches per message {c.real.switches_per_request:.1f} / "
        f"{c.ceiling.switches_per_request:.1f}; other processes {c.other_cpu_s:.1f} CPU-s",
        flush=True,
    )
    mine = c.real.server_cpu_s + c.ceiling.server_cpu_s
    if c.other_cpu_s > 0.05 * mine:
        print("        note: other processes took CPU meanwhile: the ratios hold, not the rates")


# -- main --------------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    values = [int(part) for part in text.replace(" ", ",").split(",") if part]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("expected positive integers, e.g. 1,4,16")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", type=_int_list, default=[2], help="gunicorn workers, e.g. 2,4 (default 2)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per level (default 2000)"
    )
    parser.add_argument(
        "--levels", type=_int_list, default=[1, 4, 16, 32], help="client concurrency levels"
    )
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests per server")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=600,
        help="stop sending after this many seconds in all (default 600; with --ceiling, "
        "a pair of rounds once started is finished)",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also run bench/ceiling_app.py under the same gunicorn settings, in alternating "
        "rounds with the real server, and print the ratios real/ceiling",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="with --ceiling: rounds per server and level, each 1/rounds of --requests "
        "(default 10)",
    )
    parser.add_argument(
        "--texts",
        choices=("mixed", "two"),
        default="mixed",
        help="mixed: the 551 texts of intents/data/test.jsonl (default); two: only 今天几点闭馆 "
        "and 你好, as before 2026-12-07",
    )
    parser.add_argument(
        "--readers",
        type=int,
        help="distinct readers the messages come from (default 2000 with mixed, 200 with two)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--log-dir", type=Path, help="keep the server logs here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    if args.readers is None:
        args.readers = 2000 if args.texts == "mixed" else 200
    if not 1 <= args.readers <= 100_000:
        parser.error("--readers between 1 and 100000")
    if not 1 <= args.requests <= MAX_REQUESTS_PER_LEVEL:
        parser.error(f"--requests must be between 1 and {MAX_REQUESTS_PER_LEVEL}")
    if max(args.levels) > MAX_CONCURRENCY:
        parser.error(f"--levels: at most {MAX_CONCURRENCY} concurrent clients")
    if max(args.workers) > 32 or not 1 <= args.threads <= 64:
        parser.error("--workers at most 32, --threads between 1 and 64")
    if not 1 <= args.rounds <= min(MAX_ROUNDS, args.requests):
        parser.error(f"--rounds between 1 and {MAX_ROUNDS}, and at most --requests")
    return args


def _shown_path(path: str) -> str:
    """`.venv/bin/python` rather than an absolute path, when it is the project's own."""
    absolute = Path(path).absolute()
    return str(absolute.relative_to(ROOT)) if absolute.is_relative_to(ROOT) else path


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _measure(
    args: argparse.Namespace,
    workdir: Path,
    workers: int,
    deadline: float,
    problems: dict[str, list[str]],
) -> list[LevelResult]:
    """The real server alone, each level in one go."""
    peer = mp_peer()
    results: list[LevelResult] = []
    server = Server(workers, args.threads, workdir, args.log_dir)
    try:
        server.wait_healthy()
        warm_up(server, peer, args.warmup)
        print_header()
        for level in args.levels:
            if time.perf_counter() > deadline:
                print("time limit reached; remaining levels skipped")
                break
            result = run_level(server, peer, level, args.requests, deadline)
            results.append(result)
            print_row(result)
    finally:
        server.stop()
        problems[str(workers)] = server.log_problems()
    return results


def _measure_ceiling(
    args: argparse.Namespace,
    workdir: Path,
    workers: int,
    deadline: float,
    problems: dict[str, list[str]],
) -> list[Comparison]:
    """The real server and the ceiling, both up, each level in alternating rounds."""
    peer = mp_peer()
    comparisons: list[Comparison] = []
    servers: list[Server] = []
    try:
        # One after the other, so that their workers' start-ups do not overlap; then both
        # stay up, and the one not being measured idles.
        real = Server(workers, args.threads, workdir, args.log_dir, name="real")
        servers.append(real)
        real.wait_healthy()
        ceiling = Server(workers, args.threads, workdir, args.log_dir, None, CEILING, "ceiling")
        servers.append(ceiling)
        ceiling.wait_healthy()
        warm_up(real, peer, args.warmup)
        warm_up(ceiling, peer, args.warmup, CEILING_REPLY)
        print_header(label=True)
        for level in args.levels:
            if time.perf_counter() > deadline:
                print("time limit reached; remaining levels skipped")
                break
            comparison = compare_level(
                real, ceiling, peer, level, args.requests, args.rounds, deadline
            )
            comparisons.append(comparison)
            print_comparison(comparison)
    finally:
        for server in servers:
            server.stop()
        for server in servers:
            problems[f"{server.name}-w{workers}"] = server.log_problems()
    return comparisons


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_texts(args.texts, args.readers)
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` also stops the server
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with `&`
    deadline = time.perf_counter() + args.max_seconds
    info = machine()
    print(
        f"webhook benchmark: 公众号 safe mode, {args.requests} requests per level"
        + (
            f" and server, in {args.rounds} alternating rounds, real and ceiling"
            if args.ceiling
            else ""
        )
        + f"; texts: {args.texts} ({len(MESSAGES)}) from {args.readers} readers"
        + f"; {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}; "
        "client and server share these CPUs",
        flush=True,
    )
    results: list[LevelResult] = []
    comparisons: list[Comparison] = []
    problems: dict[str, list[str]] = {}  # server log findings, by server
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="guanban-bench-") as workdir:
        for workers in args.workers:
            try:
                if args.ceiling:
                    comparisons += _measure_ceiling(
                        args, Path(workdir), workers, deadline, problems
                    )
                else:
                    results += _measure(args, Path(workdir), workers, deadline, problems)
            except KeyboardInterrupt:
                interrupted = True
                print("\ninterrupted; stopping the server", file=sys.stderr)
                break
    for name, lines in problems.items():
        shown = f"workers={name}" if name.isdecimal() else name
        if lines:
            print(f"server log ({shown}): {len(lines)} notable line(s), first ones:")
            for line in lines[:10]:
                print("   ", line)
        else:
            print(f"server log ({shown}): no warnings or errors")
    if args.json:
        report = {
            "benchmark": "webhook-ceiling" if args.ceiling else "webhook",
            "machine": info,
            "command": " ".join([_shown_path(sys.executable), *sys.argv]),
            "settings": {k: str(v) for k, v in vars(args).items()},
            "results": [asdict(r) for r in results],
            "server_log_problems": dict(problems),
        }
        if args.ceiling:
            report["comparisons"] = [asdict(c) for c in comparisons]
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(f"results written to {args.json}")
    if interrupted:
        return 130
    measured = results + [r for c in comparisons for r in (c.real, c.ceiling)]
    failed = any(
        r.errors or r.bad_replies or set(r.statuses) - {"200"} or r.verified + r.held_replies < 1
        for r in measured
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
