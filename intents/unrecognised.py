"""Messages the bot did not understand, kept for staff to review and label.

This is how the bot learns what readers ask: each row holds the text, when it came, why it
was not understood (nothing fitted, or two intents were too close to tell) and the top
guesses. When the reader then picks one of the offered guesses, that choice is kept too —
a label the reader gave themselves. Staff labels (the console) become training data.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.clock import isoformat
from intents.result import ParseResult

OUT_OF_SCOPE = "out_of_scope"
AMBIGUOUS = "ambiguous"
REASONS = (OUT_OF_SCOPE, AMBIGUOUS)
MAX_TEXT = 2000  # a pasted essay is kept in part; WeChat text messages are at most 2048 bytes

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
