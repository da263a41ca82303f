"""The docs name only files that exist: every repository path in README.md and docs/*.md
(`bot/wechat/router.py`, `tests/intents/test_nlu.py::test_…`) is checked against the tree, so
a move that forgets the docs fails here instead of misleading a reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# A path of ours: one of the top folders, then names, ending in a file type we keep; not
# the tail of a longer path or URL (`../shared/…`, `github.com/…/tests/…`). A pytest id
# after it (`::test_name`) names a test that must exist too.
PATH = re.compile(
    r"(?<![\w./-])((?:bot|handlers|intents|config|bench|tests)/[\w/.-]*\w\.(?:py|toml|html|md))"
    r"(?:::(\w+))?"
)
# Files the docs tell a deployment to make, never in the repository (.gitignore).
MADE_BY_HAND = {"config/library.toml"}


def named_paths(text: str) -> list[tuple[int, str, str | None]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        found += [(number, m.group(1), m.group(2)) for m in PATH.finditer(line)]
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_path_the_docs_name_exists(doc: Path) -> None:
    missing = []
    for number, path, test in named_paths(doc.read_text(encoding="utf-8")):
        if path in MADE_BY_HAND:
            continue
        where = f"{doc.relative_to(ROOT)}:{number}: {path}"
        if not (ROOT / path).is_file():
            missing.append(where)
        elif test and not re.search(rf"^def {test}\(", (ROOT / path).read_text(), re.M):
            missing.append(f"{where}::{test} (no such test)")
    assert missing == []


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        (
            "see `bot/wechat/router.py` and bot/core/outbox.py.",
            ["bot/wechat/router.py", "bot/core/outbox.py"],
        ),
        (
            "(`config/library.example.toml`, bench/README.md)",
            ["config/library.example.toml", "bench/README.md"],
        ),
        ("tests/intents/test_nlu.py::test_x", ["tests/intents/test_nlu.py"]),
        ("`../shared/CONVENTIONS.md`, https://x.org/a/tests/b.py", []),
        ("handlers/<capability>/ and handlers/<name>.py", []),
    ],
)
def test_what_counts_as_a_path(text: str, paths: list[str]) -> None:
    assert [path for _, path, _ in named_paths(text)] == paths
