"""Text → intent, confidence, ranking and entities: the one entry point of this layer.

Order: the crisis check first (a reader in crisis is never routed anywhere else), then the
shared-character rules, then the classifier; entities come from their own extractors
(dates and times, and the rest) whatever the intent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
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
    timed = dates.extract(text, now)
    other = [dict(entity) for entity in _entities_of(text)]  # copies: a caller may edit them
    kept = [e for e in timed if not any(_overlap(e, o) and _span(o) > _span(e) for o in other)]
    kept += [e for e in other if not any(_overlap(e, t) and _span(t) >= _span(e) for t in timed)]
    return tuple(sorted(kept, key=lambda e: (e["start"], e["end"], e["entity"])))


@functools.lru_cache(maxsize=4096)
def _is_crisis(text: str) -> bool:
    """safety.is_crisis, remembered per text (a pure function of it; bounded)."""
    return safety.is_crisis(text)


@functools.lru_cache(maxsize=4096)
def _entities_of(text: str) -> tuple[dict[str, Any], ...]:
    """The entities other than dates and times: a pure function of the text, and readers send
    the same words again and again, so remembered (bounded). Dates depend on the moment."""
    return tuple(entities.extract(text))


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def _span(entity: dict[str, Any]) -> int:
    return entity["end"] - entity["start"]
