"""The intent layer end to end: the CLI's Rasa-shaped output, determinism, evaluation."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.core.clock import TZ
from intents.classifier import (
    DATA_DIR,
    TRAIN_DIR,
    IntentClassifier,
    load_examples,
    load_or_train,
)
from intents.evaluate import load_test_set
from intents.nlu import NLU
from intents.scoring import LinearScorer
from tests.conftest import python

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
CATALOGUE = {
    "greet",
    "help",
    "reserve",
    "cancel_reservation",
    "my_reservations",
    "check_in",
    "step_out",
    "release_seat",
    "search_catalog",
    "suggest_purchase",
    "my_suggestions",
    "list_events",
    "register_event",
    "cancel_registration",
    "my_registrations",
    "therapy_booklist",
    "counseling",
    "crisis",
    "subscribe",
    "unsubscribe",
    "opening_hours",
    "feedback",
    "human",
    "affirm",
    "deny",
    "out_of_scope",
}


@pytest.fixture(scope="module")
def nlu(tmp_path_factory: pytest.TempPathFactory) -> NLU:
    return NLU.load(tmp_path_factory.mktemp("models"))


def test_training_data_covers_the_catalogue_with_40_examples_each() -> None:
    examples = load_examples(TRAIN_DIR)
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.intent] = counts.get(example.intent, 0) + 1
    assert set(counts) == CATALOGUE
    assert min(counts.values()) >= 40, counts
    texts = [e.text for e in examples]
    assert len(texts) == len(set(texts)), "an example stands in two places"


def test_training_is_deterministic_and_cached(tmp_path: Path) -> None:
    first = load_or_train(tmp_path)
    assert len(list(tmp_path.glob("intent-model-*.pickle"))) == 1
    cached = load_or_train(tmp_path)
    again = IntentClassifier.train(load_examples(TRAIN_DIR))
    for text in ("明天帮我约个座", "取消订阅", "热死了", "有没有《三体》"):
        assert first.rank(text) == cached.rank(text) == again.rank(text)


def test_the_fast_scorer_gives_the_pipelines_probabilities_for_every_example() -> None:
    classifier = load_or_train()
    assert classifier.scorer is not None
    texts = [e.text for e in load_examples(TRAIN_DIR)]
    texts += [case["text"] for case in load_test_set(DATA_DIR / "test.jsonl")]
    texts += ["", "   ", "A001", "😀😀", "明天" * 200]
    assert classifier.scorer.matches(classifier.pipeline, texts)


def test_a_ranking_is_worked_out_once_per_text_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    classifier = IntentClassifier(load_or_train().pipeline)
    assert classifier.scorer is not None
    computed: list[str] = []
    real = classifier.scorer.probabilities

    def counted(text: str) -> object:
        computed.append(text)
        return real(text)

    monkeypatch.setattr(classifier.scorer, "probabilities", counted)
    first = classifier.rank("确认")
    assert classifier.rank("确认") == first and computed == ["确认"]
    first.append(("changed by a caller", 1.0))
    assert classifier.rank("确认")[-1][0] != "changed by a caller"  # each caller its own list
    assert classifier.rank("取消预约")[0][0] == "cancel_reservation"
    assert computed == ["确认", "取消预约"]


def test_a_model_the_scorer_cannot_reproduce_is_left_to_scikit_learn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two intents: a sigmoid, not the softmax the scorer computes.
    two = [e for e in load_examples(TRAIN_DIR) if e.intent in ("greet", "human")]
    classifier = IntentClassifier.train(two)
    assert classifier.scorer is None
    assert classifier.rank("你好呀")[0][0] == "greet"
    # A scikit-learn that computed differently: the check when it is built catches it.
    monkeypatch.setattr(LinearScorer, "probabilities", lambda self, text: np.full(26, 1 / 26))
    fallback = IntentClassifier(load_or_train().pipeline)
    assert fallback.scorer is None
    assert fallback.rank("取消预约")[0][0] == "cancel_reservation"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我想自杀", "crisis"),
        ("热死了", "out_of_scope"),
        ("有《自杀论》这本书吗", "search_catalog"),
        ("取消订阅", "unsubscribe"),
        ("取消报名", "cancel_registration"),
        ("取消预约", "cancel_reservation"),
        ("荐购《原则》", "suggest_purchase"),
        ("几点开门", "opening_hours"),
    ],
)
def test_parse_finds_the_intent(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.parse(text, NOW).intent == intent


def test_parse_has_rasa_shape_and_entities(nlu: NLU) -> None:
    result = nlu.parse("周四早上七点半帮我占个座", NOW).to_rasa()
    assert set(result) == {"text", "intent", "intent_ranking", "entities"}
    assert result["intent"]["name"] == "reserve"
    assert 0 < result["intent"]["confidence"] <= 1
    values = {(e["entity"], e["value"]) for e in result["entities"]}
    assert ("date", "2026-11-26") in values
    assert ("start_time", "07:30") in values
    assert ("resource_type", "seat") in values
    for entity in result["entities"]:
        assert result["text"][entity["start"] : entity["end"]]


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return python("-m", "intents", *args, stdin=stdin)


def test_cli_parse_and_jsonl() -> None:
    one = run_cli("parse", "--now", "2026-11-20T10:00:00+08:00", "礼拜二晚上讨论室有空吗 我们五个")
    assert one.returncode == 0, one.stderr
    parsed = json.loads(one.stdout)
    assert parsed["intent"]["name"] == "reserve"
    assert {"entity": "party_size", "value": 5} in [
        {"entity": e["entity"], "value": e["value"]} for e in parsed["entities"]
    ]
    many = run_cli("parse", "--jsonl", "--now", "2026-11-20T10:00", stdin="你好\n几点闭馆\n")
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [line["intent"]["name"] for line in lines] == ["greet", "opening_hours"]


def test_cli_eval_reports_the_figures() -> None:
    result = run_cli("eval", "intents/data/test.jsonl", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["utterances"] >= 400
    assert set(report["intents"]) <= CATALOGUE
    assert 0 <= report["intent_accuracy"] <= 1


def test_cli_refuses_a_bad_now() -> None:
    result = run_cli("parse", "--now", "tomorrow", "你好")
    assert result.returncode != 0
    assert "--now" in result.stderr


def test_the_test_set_meets_the_bar(nlu: NLU) -> None:
    from intents.evaluate import evaluate, load_test_set

    path = ROOT / "intents" / "data" / "test.jsonl"
    report = evaluate(nlu, path, NOW)
    assert report["intent_accuracy"] >= 0.95
    assert report["entity_exact_match"] >= 0.93
    rows = load_test_set(path)
    crisis = [r["text"] for r in rows if r["intent"] == "crisis"]
    assert crisis and all(nlu.parse(t, NOW).intent == "crisis" for t in crisis)
    # Everyday hyperbole and book titles with death words never raise the alarm.
    calm = [
        r["text"]
        for r in rows
        if r["intent"] != "crisis" and ("死" in r["text"] or "《" in r["text"])
    ]
    assert len(calm) >= 10
    assert [t for t in calm if nlu.parse(t, NOW).intent == "crisis"] == []


def test_remembered_entities_are_the_extractors_and_each_caller_gets_its_own() -> None:
    from intents import nlu

    now = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
    texts = [case["text"] for case in load_test_set(DATA_DIR / "test.jsonl")]
    remembered = [nlu.extract_entities(text, now) for text in texts]
    assert [nlu.extract_entities(text, now) for text in texts] == remembered  # from memory
    nlu.forget_texts()
    assert [nlu.extract_entities(text, now) for text in texts] == remembered  # worked out
    first = nlu.extract_entities("有没有《三体》", now)
    first[0]["value"] = "changed by a caller"
    assert nlu.extract_entities("有没有《三体》", now)[0]["value"] == "三体"
    # Dates are remembered per day: 「明天」 moves with the date, not with the hour.
    tomorrow = nlu.extract_entities("明天", now)
    tomorrow[0]["value"] = "changed by a caller"
    assert nlu.extract_entities("明天", now.replace(hour=23))[0]["value"] == "2026-11-21"
    assert nlu.extract_entities("明天", now + timedelta(days=1))[0]["value"] == "2026-11-22"
