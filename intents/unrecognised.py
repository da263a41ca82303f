"""Messages the bot did not understand, kept for staff to review and label.

This is how the bot learns what readers ask: each row holds the text, when it came, why it
was not understood (nothing fitted, or two intents were too close to tell) and the top
guesses. When the reader then picks one of the offered guesses, that choice is kept too —
a label the reader gave themselves.

Staff then review each row in the console: label it with the intent it was (status
`labelled`), or set it aside (`ignored`), or undo either (back to `new`). `export` turns the
labels into training data: one `<intent>.txt` per intent in the labels folder
(LIBBOT_LABELS_DIR), one example per line, merged with what is there, which
`python -m intents train` then learns from. Each row remembers what it was exported as, so a
second export adds nothing, and a label undone or changed after an export takes its line
back out of the file at the next export.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat
from bot.core.db import write_transaction
from intents.catalogue import INTENTS
from intents.result import ParseResult

OUT_OF_SCOPE = "out_of_scope"
AMBIGUOUS = "ambiguous"
REASONS = (OUT_OF_SCOPE, AMBIGUOUS)
MAX_TEXT = 2000  # a pasted essay is kept in part; WeChat text messages are at most 2048 bytes

NEW = "new"
LABELLED = "labelled"
IGNORED = "ignored"
STATUSES = (NEW, LABELLED, IGNORED)
ALL = "all"
# A training example is one line of 1–500 characters: a longer message (a pasted notice, an
# essay) says too many things at once to teach one intent.
EXAMPLE_MAX = 500

migrations = Migrations("unrecognised")


@migrations()
def create_unrecognised(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE unrecognised (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            text TEXT NOT NULL,
            received_at TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('out_of_scope', 'ambiguous')),
            guesses TEXT NOT NULL,
            chosen_intent TEXT
        )
        """
    )
    db.execute("CREATE INDEX unrecognised_received_at ON unrecognised (received_at)")


def record(
    db: Database, channel: str, user_id: str, parse: ParseResult, reason: str, now: datetime
) -> int:
    """Keep one message the bot could not act on; returns its id."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    guesses = [[name, round(confidence, 4)] for name, confidence in parse.ranking[:3]]
    cursor = db.execute(
        """
        INSERT INTO unrecognised (channel, user_id, text, received_at, reason, guesses)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
        [channel, user_id, parse.text[:MAX_TEXT], isoformat(now), reason, json.dumps(guesses)],
    )
    return int(cursor.lastrowid or 0)


def choose(db: Database, row_id: int, intent: str) -> None:
    """The reader said which of the offered guesses they meant."""
    db.execute("UPDATE unrecognised SET chosen_intent = ? WHERE id = ?", [intent, row_id])


@migrations()
def add_review(db: Database) -> None:
    """Staff review: a status, the label and who gave it, and what went into the files."""
    db.execute(
        "ALTER TABLE unrecognised ADD COLUMN status TEXT NOT NULL DEFAULT 'new' "
        "CHECK (status IN ('new', 'labelled', 'ignored'))"
    )
    # label: the intent staff gave (status labelled); labelled_by/labelled_at: who reviewed
    # it last and when (also for ignored); exported_at: when the current label went into
    # the labels folder; exported_label: the intent file its text is in, if any.
    for column in ("label", "labelled_by", "labelled_at", "exported_at", "exported_label"):
        db.execute(f"ALTER TABLE unrecognised ADD COLUMN {column} TEXT")
    db.execute("CREATE INDEX unrecognised_status ON unrecognised (status, received_at)")


# -- staff review ------------------------------------------------------------------------------

COLUMNS = (
    "id, channel, user_id, text, received_at, reason, guesses, chosen_intent, status, label, "
    "labelled_by, labelled_at, exported_at, exported_label"
)


class Change(NamedTuple):
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _rows(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for row in db.query(sql, params):
        if "guesses" in row:
            row["guesses"] = [(name, float(p)) for name, p in json.loads(row["guesses"])]
        rows.append(row)
    return rows


def get(db: Database, row_id: int) -> dict[str, Any] | None:
    found = _rows(db, f"SELECT {COLUMNS} FROM unrecognised WHERE id = ?", [row_id])
    return found[0] if found else None


def page(
    db: Database, status: str = NEW, reason: str = "", limit: int = 50, skip: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of rows, newest first, and how many match: `status` one of STATUSES or
    "all", `reason` one of REASONS or "" (any)."""
    where, params = [], []
    if status != ALL:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        where.append("status = ?")
        params.append(status)
    if reason:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        where.append("reason = ?")
        params.append(reason)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = db.execute(f"SELECT count(*) FROM unrecognised {clause}", params).fetchone()[0]
    rows = _rows(
        db,
        f"SELECT {COLUMNS} FROM unrecognised {clause} "
        "ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, limit, skip],
    )
    return rows, int(total)


def count(db: Database, status: str = NEW) -> int:
    return int(
        db.execute("SELECT count(*) FROM unrecognised WHERE status = ?", [status]).fetchone()[0]
    )


def unexported(db: Database) -> int:
    """Labelled rows whose label is not in the labels folder yet."""
    row = db.execute(
        "SELECT count(*) FROM unrecognised WHERE status = 'labelled' AND exported_at IS NULL"
    )
    return int(row.fetchone()[0])


def received_per_day(db: Database, since: date) -> dict[str, int]:
    """How many rows came in on each day from `since` on: ISO day → count (days with
    none are absent)."""
    rows = db.execute(
        "SELECT substr(received_at, 1, 10), count(*) FROM unrecognised "
        "WHERE received_at >= ? GROUP BY 1",
        [since.isoformat()],
    ).fetchall()
    return {str(day): int(n) for day, n in rows}


def _review(db: Database, row_id: int, sql: str, params: list[Any]) -> Change | None:
    with write_transaction(db):
        before = get(db, row_id)
        if before is None:
            return None
        db.execute(f"UPDATE unrecognised SET {sql} WHERE id = ?", [*params, row_id])
        after = get(db, row_id)
    assert after is not None
    return Change(before, after)


def label(db: Database, row_id: int, intent: str, by: str, now: datetime) -> Change | None:
    """Staff say which intent the message was (any in the catalogue, crisis included).
    None when there is no such row; labelling it again the same way changes nothing."""
    if intent not in INTENTS:
        raise ValueError(f"unknown intent {intent!r}")
    current = get(db, row_id)
    if current is not None and current["status"] == LABELLED and current["label"] == intent:
        return Change(current, current)
    return _review(
        db,
        row_id,
        "status = 'labelled', label = ?, labelled_by = ?, labelled_at = ?, exported_at = NULL",
        [intent, by, isoformat(now)],
    )


def ignore(db: Database, row_id: int, by: str, now: datetime) -> Change | None:
    """Not something to learn from (noise, a test, a private matter)."""
    current = get(db, row_id)
    if current is not None and current["status"] == IGNORED:
        return Change(current, current)
    return _review(
        db,
        row_id,
        "status = 'ignored', label = NULL, labelled_by = ?, labelled_at = ?, exported_at = NULL",
        [by, isoformat(now)],
    )


def reset(db: Database, row_id: int) -> Change | None:
    """Undo a label or an ignore: the row waits for review again."""
    current = get(db, row_id)
    if current is not None and current["status"] == NEW:
        return Change(current, current)
    return _review(
        db,
        row_id,
        "status = 'new', label = NULL, labelled_by = NULL, labelled_at = NULL, exported_at = NULL",
        [],
    )


# -- export: labels become training data ------------------------------------------------------


def example_line(text: str) -> str | None:
    """The text as one training line (whitespace and newlines collapsed to single spaces),
    or None when it is empty or longer than EXAMPLE_MAX characters."""
    line = " ".join(text.split())
    return line if 1 <= len(line) <= EXAMPLE_MAX else None


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    written: dict[str, int] = field(default_factory=dict)  # new lines, per intent
    removed: dict[str, int] = field(default_factory=dict)  # lines taken out, per intent
    rows: int = 0  # labelled rows exported this time
    skipped: int = 0  # of those, how many were empty or too long to be an example

    @property
    def total(self) -> int:
        return sum(self.written.values())


def read_examples(path: Path) -> set[str]:
    if not path.exists():
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip()}


def write_examples(path: Path, lines: set[str]) -> None:
    """Sorted, one per line, replacing the file atomically: training never reads half a
    file, and a crash leaves the old one."""
    if not lines:
        path.unlink(missing_ok=True)
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # not *.txt: never read
    with open(partial, "w", encoding="utf-8") as handle:
        handle.writelines(f"{line}\n" for line in sorted(lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    # Two exports (two staff, or the console and the command) must not interleave their
    # read-merge-write of one file; a lock on the folder itself leaves no stray file in it.
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def export(db: Database, folder: Path, now: datetime) -> ExportResult:
    """Write every labelled row not yet exported into `<folder>/<intent>.txt`, merged with
    the lines there; take out the lines of rows whose label was undone or changed since.

    Files are written before the rows are marked, inside one write transaction: a crash in
    between exports the same rows again next time, which adds nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, set[str]] = {}
    changed: set[str] = set()

    def examples(intent: str) -> set[str]:
        if intent not in files:
            files[intent] = read_examples(folder / f"{intent}.txt")
        return files[intent]

    written: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    skipped = 0
    with _folder_lock(folder), write_transaction(db):
        labelled = db.execute("SELECT label, text FROM unrecognised WHERE status = 'labelled'")
        kept = {(intent, example_line(text)) for intent, text in labelled.fetchall()}
        stale = _rows(
            db,
            "SELECT id, text, exported_label FROM unrecognised WHERE exported_label IS NOT NULL "
            "AND (status != 'labelled' OR label IS NOT exported_label)",
            [],
        )
        for row in stale:
            intent, line = row["exported_label"], example_line(row["text"])
            # Another row may still teach the same line under the same intent.
            if intent in INTENTS and line and (intent, line) not in kept:
                lines = examples(intent)
                if line in lines:
                    lines.discard(line)
                    removed[intent] += 1
                    changed.add(intent)
        fresh = _rows(
            db,
            "SELECT id, text, label FROM unrecognised "
            "WHERE status = 'labelled' AND exported_at IS NULL ORDER BY id",
            [],
        )
        marks: list[tuple[str | None, int]] = []
        for row in fresh:
            intent, line = row["label"], example_line(row["text"])
            if line is None or intent not in INTENTS:
                skipped += 1
                marks.append((None, row["id"]))
                continue
            lines = examples(intent)
            if line not in lines:
                lines.add(line)
                written[intent] += 1
                changed.add(intent)
            marks.append((intent, row["id"]))
        for intent in sorted(changed):
            write_examples(folder / f"{intent}.txt", files[intent])
        db.conn.executemany(
            "UPDATE unrecognised SET exported_label = NULL WHERE id = ?",
            [[row["id"]] for row in stale],
        )
        db.conn.executemany(
            "UPDATE unrecognised SET exported_at = ?, exported_label = ? WHERE id = ?",
            [[isoformat(now), intent, row_id] for intent, row_id in marks],
        )
    return ExportResult(folder, dict(written), dict(removed), len(fresh), skipped)


def of_reader(db: Database, channel: str, user_id: str, limit: int) -> list[dict[str, Any]]:
    """A reader's newest `limit` messages the bot did not understand, with the names of its
    guesses."""
    rows = db.query(
        "SELECT id, text, received_at, reason, guesses, chosen_intent FROM unrecognised "
        "WHERE channel = ? AND user_id = ? ORDER BY id DESC LIMIT ?",
        [channel, user_id, limit],
    )
    return [
        {**row, "guesses": [name for name, _ in json.loads(row["guesses"] or "[]")]} for row in rows
    ]
