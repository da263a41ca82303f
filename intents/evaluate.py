"""How well the layer does on a labelled test set: intents, entities, confusions."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from intents.result import ParseResult


class Parser(Protocol):
    def parse(self, text: str, now: datetime) -> ParseResult: ...


def load_test_set(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON: {error.msg}") from None
        if not isinstance(row, dict) or "text" not in row or "intent" not in row:
            raise ValueError(f"{path}:{number}: needs 'text' and 'intent'")
        rows.append(row)
    return rows


def _entity_set(entities: Any) -> set[tuple[str, str]]:
    return {(str(e["entity"]), str(e["value"])) for e in entities or []}


def evaluate(parser: Parser, path: Path, now: datetime) -> dict[str, Any]:
    rows = load_test_set(path)
    gold_counts: Counter[str] = Counter()
    predicted_counts: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    entity_exact = 0
    entity_tp: Counter[str] = Counter()
    entity_fp: Counter[str] = Counter()
    entity_fn: Counter[str] = Counter()
    entity_misses: list[dict[str, Any]] = []
    for row in rows:
        result = parser.parse(row["text"], now)
        gold, guess = row["intent"], result.intent
        gold_counts[gold] += 1
        predicted_counts[guess] += 1
        if gold == guess:
            correct[gold] += 1
        else:
            confusions[(gold, guess)] += 1
            examples[(gold, guess)].append(row["text"])
        expected = _entity_set(row.get("entities"))
        found = _entity_set(result.entities)
        if expected == found:
            entity_exact += 1
        else:
            entity_misses.append(
                {
                    "text": row["text"],
                    "missing": sorted(expected - found),
                    "extra": sorted(found - expected),
                }
            )
        for name, _ in expected & found:
            entity_tp[name] += 1
        for name, _ in found - expected:
            entity_fp[name] += 1
        for name, _ in expected - found:
            entity_fn[name] += 1

    per_intent = {}
    for intent in sorted(set(gold_counts) | set(predicted_counts)):
        per_intent[intent] = _prf(correct[intent], predicted_counts[intent], gold_counts[intent])
    per_entity = {}
    for name in sorted(set(entity_tp) | set(entity_fp) | set(entity_fn)):
        tp = entity_tp[name]
        per_entity[name] = _prf(tp, tp + entity_fp[name], tp + entity_fn[name])
    total = len(rows)
    return {
        "utterances": total,
        "intent_accuracy": sum(correct.values()) / total if total else 0.0,
        "entity_exact_match": entity_exact / total if total else 0.0,
        "intents": per_intent,
        "entities": per_entity,
        "confusions": [
            {"gold": g, "predicted": p, "count": n, "examples": examples[(g, p)][:3]}
            for (g, p), n in confusions.most_common()
        ],
        "entity_misses": entity_misses,
    }


def _prf(true_positives: int, predicted: int, gold: int) -> dict[str, float | int]:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"utterances          {report['utterances']}",
        f"intent accuracy     {report['intent_accuracy']:.3f}",
        f"entity exact match  {report['entity_exact_match']:.3f}",
        "",
        f"{'intent':22} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>5}",
    ]
    for name, s in report["intents"].items():
        lines.append(
            f"{name:22} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['support']:5}"
        )
    lines += ["", f"{'entity':22} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>5}"]
    for name, s in report["entities"].items():
        lines.append(
            f"{name:22} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['support']:5}"
        )
    if report["confusions"]:
        lines += ["", "confusions (gold → predicted):"]
        for c in report["confusions"]:
            lines.append(f"  {c['gold']} → {c['predicted']}: {c['count']}  e.g. {c['examples'][0]}")
    if report["entity_misses"]:
        lines += ["", f"entity mismatches ({len(report['entity_misses'])}, first 15):"]
        for miss in report["entity_misses"][:15]:
            lines.append(f"  {miss['text']}  missing {miss['missing']}  extra {miss['extra']}")
    return "\n".join(lines)
