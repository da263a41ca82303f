"""`python -m intents parse | eval | train | export-labels`.

parse [--now ISO] [--jsonl] [TEXT]  print the parse in Rasa NLU's JSON shape
eval FILE [--now ISO]                per-intent precision/recall/F1, entities, confusions
train                                train (or reuse) the cached model and say how it went
export-labels                        write staff labels (LIBBOT_DATABASE) into LIBBOT_LABELS_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.core.clock import TZ, system_clock
from bot.core.settings import Settings, SettingsError
from intents.evaluate import evaluate, format_report
from intents.nlu import NLU

# The test set's sentences were written on this day ("明天" there means 2026-11-21).
TEST_SET_NOW = "2026-11-20T10:00:00+08:00"


def _now(value: str | None) -> datetime:
    if not value:
        return system_clock()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"error: --now: not an ISO date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intents")
    commands = parser.add_subparsers(dest="command", required=True)
    parse = commands.add_parser("parse", help="parse text into intent and entities")
    parse.add_argument("text", nargs="?", help="the text (omit with --jsonl)")
    parse.add_argument("--now", help="anchor for relative dates (default: now, Asia/Shanghai)")
    parse.add_argument("--jsonl", action="store_true", help="one text per stdin line")
    check = commands.add_parser("eval", help="evaluate on a JSONL test set")
    check.add_argument("file", type=Path)
    check.add_argument("--now", default=TEST_SET_NOW, help=f"anchor (default {TEST_SET_NOW})")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    commands.add_parser(
        "train",
        help="train the model on the data and LIBBOT_LABELS_DIR (cached in LIBBOT_MODEL_DIR)",
    )
    commands.add_parser(
        "export-labels", help="write the staff labels in LIBBOT_DATABASE into LIBBOT_LABELS_DIR"
    )
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "export-labels":
        return _export_labels(settings)
    cache_dir, labels_dir = Path(settings.model_dir), Path(settings.labels_dir)
    nlu = NLU.load(cache_dir, labels_dir=labels_dir)
    if args.command == "train":
        print(
            f"model trained on {len(nlu.classifier.intents)} intents, cached in {cache_dir} "
            f"(staff labels from {labels_dir})"
        )
        return 0
    if args.command == "parse":
        now = _now(args.now)
        if args.jsonl:
            for line in sys.stdin:
                if line.strip():
                    print(json.dumps(nlu.parse(line, now).to_rasa(), ensure_ascii=False))
            return 0
        if not args.text:
            parser.error("parse needs TEXT, or --jsonl with texts on stdin")
        print(json.dumps(nlu.parse(args.text, now).to_rasa(), ensure_ascii=False, indent=2))
        return 0
    report = evaluate(nlu, args.file, _now(args.now))
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def _export_labels(settings: Settings) -> int:
    from bot.core.db import connect, migrate
    from intents import unrecognised

    database = Path(settings.database)
    if not database.exists():
        print(f"error: no database at {database} (LIBBOT_DATABASE)", file=sys.stderr)
        return 2
    migrate(database, [unrecognised.migrations])  # an older database gains the review columns
    db = connect(database)
    try:
        result = unrecognised.export(db, Path(settings.labels_dir), system_clock())
    except OSError as error:
        print(f"error: cannot write {settings.labels_dir}: {error}", file=sys.stderr)
        return 1
    finally:
        db.close()
    for intent, added in sorted(result.written.items()):
        print(f"{intent}\t+{added}")
    for intent, taken in sorted(result.removed.items()):
        print(f"{intent}\t-{taken}")
    print(
        f"{result.rows} labelled messages exported, {result.total} new examples written, "
        f"{sum(result.removed.values())} withdrawn, {result.skipped} skipped (empty or over "
        f"{unrecognised.EXAMPLE_MAX} characters) in {result.folder}"
    )
    if result.total or result.removed:
        print("run `python -m intents train` (then restart the bot) to learn from them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
