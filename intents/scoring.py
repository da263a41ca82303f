"""One text through the fitted model, without scikit-learn's per-call machinery.

`Pipeline.predict_proba([text])` spends about 1 ms on one chat message, most of it checking
its input (arrays, dataframes, feature names, parameters) — checks a single string never
needs. The arithmetic itself is small: count the text's n-grams, weight them by TF-IDF,
normalise, one dot product per intent, softmax — tens of microseconds. At the seat-release
rush every message pays the classifier, so `LinearScorer` does that arithmetic from the
fitted vectorizers and model. It is built only for the pipeline shape `build_pipeline` makes
and is checked against `predict_proba` when built (`matches`): should a scikit-learn release
compute differently, the classifier goes on using the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

# Texts the scorer is compared on when it is built: chat of several shapes, and edge cases.
PROBES = (
    "明天上午八点到十二点约个座位",
    "确认",
    "《平凡的世界》有吗",
    "图书馆今天几点关门？",
    "我想推荐买一本书 9787020024759",
    "Hello WORLD 123",
    "",
)


class LinearScorer:
    """Probabilities per intent (in the model's class order) for one text."""

    def __init__(self, pipeline: Pipeline) -> None:
        union: FeatureUnion = pipeline.named_steps["features"]
        model: LogisticRegression = pipeline.named_steps["model"]
        self.parts: list[tuple[Callable[[str], Iterable[str]], dict[str, int], Any, int, bool]] = []
        offset = 0
        for _name, vectorizer in union.transformer_list:
            assert isinstance(vectorizer, TfidfVectorizer)
            self.parts.append(
                (
                    vectorizer.build_analyzer(),
                    vectorizer.vocabulary_,
                    vectorizer.idf_,
                    offset,
                    vectorizer.sublinear_tf,
                )
            )
            offset += len(vectorizer.vocabulary_)
        self.weights = np.ascontiguousarray(model.coef_.T)  # features × intents
        self.intercept = model.intercept_

    @classmethod
    def for_pipeline(cls, pipeline: Pipeline) -> LinearScorer | None:
        """A scorer when the pipeline is one it can reproduce exactly, else None."""
        try:
            union, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
            shapes_fit = (
                isinstance(union, FeatureUnion)
                and union.transformer_weights is None
                and all(
                    isinstance(v, TfidfVectorizer) and v.use_idf and v.norm == "l2" and not v.binary
                    for _name, v in union.transformer_list
                )
                and isinstance(model, LogisticRegression)
                and len(model.classes_) > 2  # softmax; two classes would be a sigmoid
            )
        except (KeyError, AttributeError):
            return None
        if not shapes_fit:
            return None
        scorer = cls(pipeline)
        return scorer if scorer.matches(pipeline, PROBES) else None

    def matches(self, pipeline: Pipeline, texts: Iterable[str]) -> bool:
        texts = list(texts)
        expected = pipeline.predict_proba(texts)
        return all(
            np.allclose(self.probabilities(text), row, rtol=0, atol=1e-9)
            for text, row in zip(texts, expected, strict=True)
        )

    def probabilities(self, text: str) -> Any:
        columns: list[int] = []
        values: list[float] = []
        for analyze, vocabulary, idf, offset, sublinear in self.parts:
            counts: dict[int, int] = {}
            for gram in analyze(text):
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            weighted = {
                index: (1 + math.log(count) if sublinear else count) * idf[index]
                for index, count in counts.items()
            }
            length = math.sqrt(sum(w * w for w in weighted.values()))
            for index, weight in weighted.items():
                columns.append(offset + index)
                values.append(weight / length)
        scores = self.intercept + np.asarray(values) @ self.weights[columns]
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()
