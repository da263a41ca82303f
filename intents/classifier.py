"""The intent classifier: character n-gram TF-IDF and a linear model (scikit-learn).

Character n-grams suit Chinese chat: no word segmenter (and none of its errors or its
licence), robust to typos and abbreviations, and a few hundred examples per intent
generalise beyond their templates. Training takes about 8 s on two cores, so it happens
once — at install (`make setup` runs `python -m intents train`) or first use — from
`intents/data/train/*.txt` (plus staff-labelled examples), and the model is cached on disk
under a key made of the training data and the library versions; the same data always gives
the same model (fixed solver, no randomness). Each process keeps one copy in memory.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from intents.normalize import normalize
from intents.scoring import LinearScorer

log = logging.getLogger("guanban.intents")

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_DIR = DATA_DIR / "train"
LABELLED_DIR = DATA_DIR / "labelled"  # staff labels exported by the console
FORMAT_VERSION = "1"

# What an intent should not learn from: a book's title says nothing about whether the reader
# wants to find it or to suggest buying it, and digits are all alike.
_TITLE = re.compile(r"《[^《》]*》")
_DIGITS = re.compile(r"\d+")


def features(text: str) -> str:
    return _DIGITS.sub("0", _TITLE.sub("《》", normalize(text)))


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


def load_examples(*folders: Path) -> list[Example]:
    """Every `<intent>.txt` in the folders, one example per line, in a stable order."""
    examples = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    examples.append(Example(line.strip(), path.stem))
    return examples


def build_pipeline() -> Pipeline:
    return Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        # Within-word n-grams (1–3 characters) carry most of the signal.
                        (
                            "chars",
                            TfidfVectorizer(
                                analyzer="char_wb",
                                ngram_range=(1, 3),
                                sublinear_tf=True,
                                preprocessor=features,
                            ),
                        ),
                        # Longer n-grams catch set phrases: 取消预约, 你买书我买单.
                        (
                            "phrases",
                            TfidfVectorizer(
                                analyzer="char",
                                ngram_range=(4, 5),
                                sublinear_tf=True,
                                min_df=2,
                                preprocessor=features,
                            ),
                        ),
                    ]
                ),
            ),
            ("model", LogisticRegression(C=20.0, max_iter=3000, solver="lbfgs")),
        ]
    )


# Texts whose ranking a classifier remembers (a few hundred kB).
RANKINGS_KEPT = 4096


class IntentClassifier:
    """Ranks intents for a text; `rank` returns (intent, probability) best first."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.intents: list[str] = list(pipeline.classes_)
        self.scorer = LinearScorer.for_pipeline(pipeline)  # None: sklearn computes each one
        # Readers send the same words again and again (「确认」「1」「你好」「几点闭馆」), and a
        # ranking is a pure function of the text and this model: it is remembered, bounded.
        # A new model (staff labels retrained) is a new classifier with an empty memory.
        self._ranked = functools.lru_cache(maxsize=RANKINGS_KEPT)(self._rank)

    @classmethod
    def train(cls, examples: Iterable[Example]) -> IntentClassifier:
        examples = list(examples)
        if not examples:
            raise ValueError("no training examples")
        pipeline = build_pipeline()
        pipeline.fit([e.text for e in examples], [e.intent for e in examples])
        return cls(pipeline)

    def rank(self, text: str, top: int = 5) -> list[tuple[str, float]]:
        return list(self._ranked(text, top))

    def _rank(self, text: str, top: int) -> tuple[tuple[str, float], ...]:
        if self.scorer is not None:
            probabilities = self.scorer.probabilities(text)
        else:
            probabilities = self.pipeline.predict_proba([text])[0]
        order = probabilities.argsort()[::-1][:top]
        return tuple((self.intents[i], float(probabilities[i])) for i in order)


def data_fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256(f"{FORMAT_VERSION}:{sklearn.__version__}".encode())
    for example in examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    return digest.hexdigest()[:16]


# One trained model per process and training data: every app a process builds (the tests
# build hundreds, gunicorn's threads share one) uses the same object. Prediction only reads it.
_loaded: dict[str, IntentClassifier] = {}
_loading = threading.Lock()


def load_or_train(
    cache_dir: Path | None = None, labels_dir: Path | None = None
) -> IntentClassifier:
    """The classifier for the current training data — `intents/data/train` and the staff
    labels in `labels_dir` (LIBBOT_LABELS_DIR; default LABELLED_DIR): this process's copy,
    else the disk cache, else trained now (and cached, when `cache_dir` is given and
    writable). New labels change the data's fingerprint, hence the model."""
    examples = load_examples(TRAIN_DIR, labels_dir or LABELLED_DIR)
    key = data_fingerprint(examples)
    with _loading:
        classifier = _loaded.get(key)
        path = cache_dir / f"intent-model-{key}.pickle" if cache_dir else None
        if classifier is None and path is not None:
            classifier = _read_cache(path)
        if classifier is None:
            classifier = IntentClassifier.train(examples)
        if path is not None and not path.exists():
            _write_cache(path, classifier)
        _loaded[key] = classifier
        return classifier


def _read_cache(path: Path) -> IntentClassifier | None:
    if not path.exists():
        return None
    try:
        with open(path, "rb") as handle:
            return IntentClassifier(pickle.load(handle))
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as error:
        log.warning("ignoring unreadable model cache %s: %s", path, error)
        return None


def _write_cache(path: Path, classifier: IntentClassifier) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as handle:
            pickle.dump(classifier.pipeline, handle)
        partial.replace(path)  # atomic: a reader never sees half a file
    except OSError as error:  # a read-only install still works, training each start
        log.warning("cannot cache the intent model in %s: %s", path.parent, error)
