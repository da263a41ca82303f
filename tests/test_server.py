"""The master warms up before gunicorn forks, so that a worker only builds its app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import server
from bot.app import warm_up
from bot.core.settings import Settings
from intents import classifier


def test_warm_up_runs_in_the_master_before_the_workers_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []

    class Gunicorn:
        def __init__(self, options: dict[str, Any]) -> None:
            self.options = options

        def run(self) -> None:
            order.append("gunicorn forks its workers")

    monkeypatch.setattr(server, "_Gunicorn", Gunicorn)
    server.run_server("127.0.0.1", 0, 2, warm_up=lambda: order.append("warm up"))
    assert order == ["warm up", "gunicorn forks its workers"]


def test_after_warm_up_an_app_reads_no_model_from_disk(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What a forked worker inherits: this process's classifier, keyed by the training data.
    monkeypatch.setattr(classifier, "_loaded", {})
    settings = Settings.from_env()
    warm_up(settings)
    assert len(classifier._loaded) == 1

    def no_disk(path: Path) -> None:
        raise AssertionError(f"a warmed-up worker read {path}")

    monkeypatch.setattr(classifier, "_read_cache", no_disk)
    monkeypatch.setattr(classifier.IntentClassifier, "train", no_disk)
    app = make_app(model_dir=settings.model_dir, labels_dir=settings.labels_dir)
    assert app.test_client().get("/healthz").status_code == 200
