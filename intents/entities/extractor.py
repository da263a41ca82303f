"""`extract`: titles first, then every other entity family outside them; overlaps and
repeats settled."""

from __future__ import annotations

from typing import Any

from intents.entities.authors import _asked_titles, _authors
from intents.entities.isbn import _isbns
from intents.entities.lexicons import _CATEGORIES, _RESOURCES, _lexicon_hits, _topics
from intents.entities.party_size import _party_sizes
from intents.entities.spans import _fold, _overlaps
from intents.entities.titles import _titles


def extract(text: str) -> list[dict[str, Any]]:
    """Every non-date entity in `text`, ordered by position; spans index into `text`."""
    folded = _fold(text)
    titled = _titles(text, folded)
    claims = [claim for _, claim in titled]
    titled += [
        t for t in _asked_titles(text, folded) if not any(_overlaps(t[1], c) for c in claims)
    ]
    claims = [claim for _, claim in titled]

    found: list[dict[str, Any]] = [entity for entity, _ in titled]
    groups = (
        list(_isbns(folded)),
        list(_authors(text, folded, bool(titled))),
        list(_party_sizes(folded)),
        list(_lexicon_hits(_RESOURCES, "resource_type", folded)),
        list(_topics(folded)),
        list(_lexicon_hits(_CATEGORIES, "category", folded)),
    )
    resources = [(e["start"], e["end"]) for e in groups[3]]
    for group in groups:
        # Within one kind of entity, the longer of two overlapping spans wins.
        group.sort(key=lambda e: (-(e["end"] - e["start"]), e["start"]))
        kept: list[dict[str, Any]] = []
        for entity in group:
            span = (entity["start"], entity["end"])
            if any(_overlaps(span, c) for c in claims):
                continue  # nothing is read from inside a title
            if any(_overlaps(span, (k["start"], k["end"])) for k in kept):
                continue
            if entity["entity"] == "category" and any(_overlaps(span, r) for r in resources):
                continue  # 放映厅 is a room, not a film
            kept.append(entity)
        found += kept

    found.sort(key=lambda e: (e["start"], e["end"], e["entity"]))
    unique: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for entity in found:
        key = (entity["entity"], str(entity["value"]))
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique
