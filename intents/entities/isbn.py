"""ISBNs: a valid ISBN-13 anywhere, an ISBN-10 only after ISBN/书号 (converted to 13)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stdnum import isbn as stdnum_isbn

from intents.entities.spans import _entity

_ISBN13 = re.compile(r"(?<![0-9x])(97[89](?:[- ]?[0-9]){10})(?![0-9x]|-[0-9])")
_ISBN10 = re.compile(
    r"(?:isbn|书号)(?:-?10)?(?:号)?\s*(?:是|为)?\s*[:：]?\s*"
    r"([0-9](?:[- ]?[0-9]){8}[- ]?[0-9x])(?![0-9x]|-[0-9])"
)


def _isbns(folded: str) -> Iterator[dict[str, Any]]:
    for match in _ISBN13.finditer(folded):
        digits = stdnum_isbn.compact(match.group(1))
        if len(digits) == 13 and stdnum_isbn.is_valid(digits):
            yield _entity("isbn", digits, match.start(1), match.end(1))
    for match in _ISBN10.finditer(folded):
        digits = stdnum_isbn.compact(match.group(1))
        if len(digits) == 10 and stdnum_isbn.is_valid(digits):
            value = stdnum_isbn.compact(stdnum_isbn.to_isbn13(digits))
            yield _entity("isbn", value, match.start(1), match.end(1))
