"""The parse result, in the shape of Rasa NLU's JSON, as a plain value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ParseResult:
    text: str
    intent: str
    confidence: float
    entities: tuple[dict[str, Any], ...] = ()
    ranking: tuple[tuple[str, float], ...] = field(default=())
    # True when the best guess is below the confidence threshold: ask, don't act.
    ambiguous: bool = False

    def entity(self, name: str) -> Any:
        """The value of the first entity called `name`, or None."""
        for entity in self.entities:
            if entity["entity"] == name:
                return entity["value"]
        return None

    def to_rasa(self) -> dict[str, Any]:
        ranking = self.ranking or ((self.intent, self.confidence),)
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "entities": [dict(e) for e in self.entities],
        }


# What turns a reader's text (and the moment, for relative dates) into a parse: the built-in
# NLU's `parse`, a Rasa server's (intents.remote), or a test's own.
Parser = Callable[[str, datetime], ParseResult]
