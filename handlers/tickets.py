"""Tickets: feedback and hand-offs that a librarian must answer (首问责任制).

This module owns the `tickets` table; the staff console (a later issue) reads and closes
tickets through these functions. Every ticket has a reference number the reader is told,
so "我上次反馈的 FK000012" can be found at the desk.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.clock import isoformat
from bot.db import write_transaction

FEEDBACK = "feedback"
HANDOFF = "handoff"
PREFIXES = {FEEDBACK: "FK", HANDOFF: "RG"}
MAX_TEXT = 2000

migrations = Migrations("tickets")


@migrations()
def create_tickets(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            ref TEXT UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('feedback', 'handoff')),
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            owner TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            closed_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX tickets_open ON tickets (status, due_at)")
    db.execute("CREATE INDEX tickets_reader ON tickets (channel, user_id)")


def create(
    db: Database,
    *,
    kind: str,
    channel: str,
    user_id: str,
    text: str,
    now: datetime,
    due_in: timedelta,
) -> str:
    """Open a ticket and return its reference number (e.g. FK000012)."""
    stamp = isoformat(now)
    with write_transaction(db):
        cursor = db.execute(
            """
            INSERT INTO tickets (kind, channel, user_id, text, created_at, updated_at, due_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [kind, channel, user_id, text[:MAX_TEXT], stamp, stamp, isoformat(now + due_in)],
        )
        ref = f"{PREFIXES[kind]}{cursor.lastrowid:06d}"
        db.execute("UPDATE tickets SET ref = ? WHERE id = ?", [ref, cursor.lastrowid])
    return ref


def append(db: Database, ref: str, text: str, now: datetime) -> None:
    """Add the reader's next words to an open ticket."""
    db.execute(
        """
        UPDATE tickets
        SET text = substr(CASE WHEN text = '' THEN ? ELSE text || char(10) || ? END, 1, ?),
            updated_at = ?
        WHERE ref = ?
        """,
        [text, text, MAX_TEXT, isoformat(now), ref],
    )


def recent_open(
    db: Database, kind: str, channel: str, user_id: str, since: datetime
) -> dict[str, Any] | None:
    """The reader's newest open ticket of `kind` created after `since`, if any."""
    rows = db["tickets"].rows_where(
        "kind = ? AND channel = ? AND user_id = ? AND status = 'open' AND created_at >= ?",
        [kind, channel, user_id, isoformat(since)],
        order_by="id desc",
        limit=1,
    )
    return next(iter(rows), None)


def get(db: Database, ref: str) -> dict[str, Any] | None:
    return next(iter(db["tickets"].rows_where("ref = ?", [ref])), None)
