"""The entity dicts the passes produce, and how a pass blanks out what it recognised."""

from __future__ import annotations

Entity = dict[str, object]
Edit = tuple[int, int, str]


def _entity(name: str, value: object, start: int, end: int) -> Entity:
    return {"entity": name, "value": value, "start": start, "end": end}


def _apply(work: str, edits: list[Edit]) -> str:
    """Blank out (or rewrite) recognised spans; edits are non-overlapping and in order."""
    if not edits:
        return work
    pieces: list[str] = []
    last = 0
    for start, end, replacement in edits:
        pieces.append(work[last:start])
        pieces.append(replacement if replacement else "\0" * (end - start))
        last = end
    pieces.append(work[last:])
    return "".join(pieces)
