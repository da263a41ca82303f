"""Folding a message one character for one (so spans survive), the entity dicts, and the
helpers every entity family uses on spans."""

from __future__ import annotations

import unicodedata
from typing import Any

from intents.normalize import SIMPLIFIED

# Traditional → simplified (the shared table in intents.normalize): one character for one,
# so folding keeps every offset.
_FOLD = SIMPLIFIED


def _fold(text: str) -> str:
    """Width, case and script folded, one character for one character (offsets survive)."""
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded.lower() if len(folded) == 1 else char)
    return "".join(out).translate(_FOLD)


def _entity(name: str, value: Any, start: int, end: int) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": start, "end": end}


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _original(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The original text of a span, trimmed of spaces and quotes, NFKC-normalised."""
    strip = " \t\u3000\"'“”‘’「」『』"
    while start < end and text[start] in strip:
        start += 1
    while end > start and text[end - 1] in strip:
        end -= 1
    return unicodedata.normalize("NFKC", text[start:end]), start, end


# Punctuation that ends an unbracketed title, an author's name or a party-size phrase.
_STOP = r"，。！？,!?；;：:\n、"
