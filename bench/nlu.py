"""Benchmark: how long the built-in intent layer takes to start and to parse one message.

Start-up is timed in fresh subprocesses (what a new gunicorn worker pays): importing
`intents.nlu` and `NLU.load(cache_dir)`, once cold (an empty cache: the model is trained and
written) and `--runs` times warm (the cached model is read), reporting the median. Parse
latency is timed in this process with `time.perf_counter_ns` around `NLU.parse` for every
text of `intents/data/test.jsonl`, in as many passes as it takes to reach `--parses`, after
an untimed warm-up pass, each pass with what the layer remembers of texts (rankings,
entities, crisis checks) forgotten, and once more remembered; then each stage of a parse is
timed on its own, so that a slow figure says where the time goes. Nothing touches the
network; the model cache is a temporary folder, so `instance/` is left alone.

    .venv/bin/python bench/nlu.py [--runs 5] [--parses 5000] [--strict] [--json out.json]

The bar: parse p50 < 2 ms and p99 < 10 ms, warm start-up < 2 s. PASS/FAIL is printed; the
exit status is 0 either way unless `--strict`. Results are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import machine

TEST_SET = ROOT / "intents" / "data" / "test.jsonl"
# The test set's fixed moment (dates such as 明天 are resolved against it).
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BAR_P50_MS = 2.0
BAR_P99_MS = 10.0
BAR_STARTUP_S = 2.0
MAX_PARSES = 200_000
MAX_RUNS = 20

# Run in a fresh interpreter: prints how long the import and the load took, in seconds.
STARTUP_SCRIPT = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from intents.nlu import NLU
imported = time.perf_counter()
NLU.load(Path(sys.argv[1]))
loaded = time.perf_counter()
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported}))
"""


# -- start-up ----------------------------------------------------------------------------------


def time_startup(cache_dir: Path) -> dict[str, float]:
    """One fresh interpreter: import + load as it measures them, and the process's wall time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", STARTUP_SCRIPT, str(cache_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"start-up run failed ({done.returncode}): {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["total_s"] = figures["import_s"] + figures["load_s"]
    figures["process_s"] = wall
    return figures


def startup(cache_dir: Path, runs: int) -> dict[str, Any]:
    cold = time_startup(cache_dir)  # empty cache: trains and writes the model
    if not list(cache_dir.glob("intent-model-*.pickle")):
        raise RuntimeError(f"the cold run left no model in {cache_dir}")
    warm = [time_startup(cache_dir) for _ in range(runs)]
    median = {key: statistics.median(run[key] for run in warm) for key in warm[0]}
    return {"cold": cold, "warm_median": median, "warm_runs": warm}


# -- parse latency -----------------------------------------------------------------------------


def load_texts() -> list[str]:
    texts = []
    for line in TEST_SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(json.loads(line)["text"])
    if not texts:
        raise RuntimeError(f"no texts in {TEST_SET}")
    return texts


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile (as bench/webhook.py)."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(ns / 1e6 for ns in samples_ns)
    return {
        "n": len(ms),
        "mean_ms": statistics.fmean(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1],
    }


def timed(
    call: Callable[[str], object],
    texts: list[str],
    passes: int,
    before_pass: Callable[[], object] | None = None,
) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(passes):
        if before_pass is not None:
            before_pass()  # untimed
        for text in texts:
            started = clock()
            call(text)
            samples.append(clock() - started)
    return samples


def parse_latency(cache_dir: Path, min_parses: int) -> dict[str, Any]:
    from intents import nlu as nlu_module
    from intents import rules, safety
    from intents.nlu import NLU, extract_entities
    from intents.normalize import normalize

    nlu = NLU.load(cache_dir)
    texts = load_texts()
    passes = math.ceil(min_parses / len(texts))

    def forget() -> None:
        # The classifier and the entity extractor remember texts they have seen: each pass
        # starts without, so the figures are a text's first parse in this process.
        nlu.classifier._ranked.cache_clear()
        nlu_module.forget_texts()

    timed(lambda text: nlu.parse(text, NOW), texts, 1, forget)  # warm-up, not counted
    samples = timed(lambda text: nlu.parse(text, NOW), texts, passes, forget)
    result: dict[str, Any] = {"texts": len(texts), "passes": passes, **summary(samples)}
    # The same texts again, remembered: what a repeated 「确认」 or 「几点闭馆」 costs.
    result["seen_before"] = summary(timed(lambda text: nlu.parse(text, NOW), texts, passes))

    # Slowest texts by their median over the passes (the p99 is made of these).
    per_text = [sorted(samples[i :: len(texts)]) for i in range(len(texts))]
    slowest = sorted(range(len(texts)), key=lambda i: per_text[i][len(per_text[i]) // 2])[-5:]
    result["slowest"] = [
        {"text": texts[i], "median_ms": per_text[i][len(per_text[i]) // 2] / 1e6}
        for i in reversed(slowest)
    ]

    # Each stage on its own, over fewer passes: where a parse spends its time. Below the
    # classifier, for comparison, what scikit-learn's own path costs for the same texts (the
    # classifier uses intents/scoring.py's arithmetic instead when it matches): its feature
    # extraction (two TF-IDF vectorisers) and its linear model.
    pipeline = nlu.classifier.pipeline
    features, model = pipeline[:-1], pipeline[-1]
    vectors = {text: features.transform([text.strip()]) for text in texts}
    stages: dict[str, Callable[[str], object]] = {
        "strip + crisis check": lambda text: safety.is_crisis(text.strip()),
        "entities (dates + other)": lambda text: extract_entities(text.strip(), NOW),
        "rules (normalize + match)": lambda text: rules.match(normalize(text.strip())),
        "classifier.rank (all)": lambda text: nlu.classifier.rank(text.strip()),
        "  sklearn: tf-idf features": lambda text: features.transform([text.strip()]),
        "  sklearn: predict_proba": lambda text: model.predict_proba(vectors[text]),
    }
    stage_passes = max(1, passes // 3)
    result["stages"] = {}
    for name, call in stages.items():
        timed(call, texts, 1, forget)  # warm-up
        result["stages"][name] = summary(timed(call, texts, stage_passes, forget))
    return result


# -- reporting ---------------------------------------------------------------------------------


def machine_with_versions() -> dict[str, Any]:
    """The machine, with the libraries that set a parse's speed and the load it ran under."""
    versions = {}
    for package in ("sklearn", "numpy", "scipy"):
        try:
            versions[package] = __import__(package).__version__
        except ImportError:
            versions[package] = "-"
    return machine(load_average=[round(x, 2) for x in os.getloadavg()], **versions)


def verdicts(start: dict[str, Any], parse: dict[str, Any]) -> dict[str, bool]:
    return {
        f"parse p50 < {BAR_P50_MS:g} ms": parse["p50_ms"] < BAR_P50_MS,
        f"parse p99 < {BAR_P99_MS:g} ms": parse["p99_ms"] < BAR_P99_MS,
        f"warm start-up < {BAR_STARTUP_S:g} s": start["warm_median"]["total_s"] < BAR_STARTUP_S,
    }


def print_report(start: dict[str, Any], parse: dict[str, Any], bar: dict[str, bool]) -> None:
    print("\nstart-up (fresh interpreter; seconds)")
    print(f"{'':>16} {'import':>8} {'load':>8} {'import+load':>12} {'process wall':>13}")
    rows = [("cold (trains)", start["cold"]), ("warm (median)", start["warm_median"])]
    for label, f in rows:
        print(
            f"{label:>16} {f['import_s']:>8.3f} {f['load_s']:>8.3f} {f['total_s']:>12.3f} "
            f"{f['process_s']:>13.3f}"
        )
    warm_totals = ", ".join(f"{run['total_s']:.3f}" for run in start["warm_runs"])
    print(f"  warm runs import+load: {warm_totals}")

    print(
        f"\nparse latency: {parse['n']} parses ({parse['texts']} texts x {parse['passes']} "
        "passes, after one warm-up pass); ms"
    )
    header = f"{'':>28} {'mean':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}"
    print(header)

    def row(label: str, s: dict[str, float]) -> None:
        print(
            f"{label:>28} {s['mean_ms']:>7.3f} {s['p50_ms']:>7.3f} {s['p90_ms']:>7.3f} "
            f"{s['p99_ms']:>7.3f} {s['max_ms']:>7.2f}"
        )

    row("NLU.parse", parse)
    row("NLU.parse, text seen before", parse["seen_before"])
    print("  by stage (each timed alone):")
    for name, s in parse["stages"].items():
        row(name, s)
    print("  slowest texts (median ms):")
    for item in parse["slowest"]:
        print(f"    {item['median_ms']:7.3f}  {item['text']}")

    print()
    for name, ok in bar.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="warm start-up runs (default 5)")
    parser.add_argument(
        "--parses", type=int, default=5000, help="at least this many timed parses (default 5000)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the bar is missed")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS:
        parser.error(f"--runs must be between 1 and {MAX_RUNS}")
    if not 1 <= args.parses <= MAX_PARSES:
        parser.error(f"--parses must be between 1 and {MAX_PARSES}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_with_versions()
    print(
        f"NLU benchmark: {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}, "
        f"scikit-learn {info['sklearn']}, numpy {info['numpy']}, scipy {info['scipy']}; "
        f"load average {info['load_average']}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="guanban-bench-nlu-") as folder:
        cache_dir = Path(folder)
        start = startup(cache_dir, args.runs)
        parse = parse_latency(cache_dir, args.parses)
    bar = verdicts(start, parse)
    print_report(start, parse, bar)
    if args.json:
        report = {
            "benchmark": "nlu",
            "machine": info,
            "command": " ".join([sys.executable, *sys.argv]),
            "settings": {k: str(v) for k, v in vars(args).items()},
            "startup": start,
            "parse": parse,
            "bar": bar,
        }
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 1 if args.strict and not all(bar.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
