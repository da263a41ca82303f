"""Text → intent, confidence, ranking and entities: the one entry point of this layer.

Order: the crisis check first (a reader in crisis is never routed anywhere else), then the
shared-character rules, then the classifier; entities come from their own extractors
(dates and times, and the rest) whatever the intent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from intents import dates, entities, rules, safety
from intents.classifier import IntentClassifier, load_or_train
from intents.normalize import normalize
from intents.result import ParseResult

# Below this, the bot asks which of the two best guesses the reader meant.
DEFAULT_THRESHOLD = 0.45


@dataclass
class NLU:
    classifier: IntentClassifier
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def load(
        cls,
        cache_dir: Path | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        labels_dir: Path | None = None,
    ) -> NLU:
        return cls(load_or_train(cache_dir, labels_dir), threshold)

    def parse(self, text: str, now: datetime) -> ParseResult:
        text = text.strip()
        found = extract_entities(text, now)
        if _is_crisis(text):
            return ParseResult(text, "crisis", 1.0, found, (("crisis", 1.0),))
        ranking = tuple(self.classifier.rank(text))
        ruled = rules.match(normalize(text))
        if ruled is not None:
            rest = tuple((name, p) for name, p in ranking if name != ruled)
            return ParseResult(text, ruled, 1.0, found, ((ruled, 1.0), *rest[:4]))
        intent, confidence = ranking[0]
        return ParseResult(
            text, intent, confidence, found, ranking, ambiguous=confidence < self.threshold
        )


def extract_entities(text: str, now: datetime) -> tuple[dict[str, Any], ...]:
    """Every entity, ordered by position. Where the time extractor and the other one claim
    overlapping text (「三点」 in a title, 「12.1」 read as a number), the longer span wins;
    each extractor resolves its own overlaps (a range gives start and end on one span)."""
    # Copies of the remembered entities: a caller may edit its own.
    timed = [dict(e) for e in _dates_of(text, dates.day_of(now))] if text else []
    other = [dict(e) for e in _entities_of(text)]
    kept = [e for e in timed if not any(_overlap(e, o) and _span(o) > _span(e) for o in other)]
    kept += [e for e in other if not any(_overlap(e, t) and _span(t) >= _span(e) for t in timed)]
    return tuple(sorted(kept, key=lambda e: (e["start"], e["end"], e["entity"])))


# Readers send the same words again and again (「确认」「1」「你好」「几点闭馆」), and what the
# layer works out from a text alone — the crisis check, the entities, the dates on a given day
# — is a pure function of it: remembered, for this many texts each (a few hundred kB).
TEXTS_REMEMBERED = 4096


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)
def _is_crisis(text: str) -> bool:
    return safety.is_crisis(text)


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)
def _entities_of(text: str) -> tuple[dict[str, Any], ...]:
    return tuple(entities.extract(text))


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)
def _dates_of(text: str, day: date) -> tuple[dict[str, Any], ...]:
    return dates.extract_on(text, day)


def forget_texts() -> None:
    """Forget what is remembered of texts (the benchmark's first-sight figures)."""
    for remembered in (_is_crisis, _entities_of, _dates_of):
        remembered.cache_clear()


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def _span(entity: dict[str, Any]) -> int:
    return entity["end"] - entity["start"]
