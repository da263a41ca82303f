"""Messages the library sends first: every one is a row here before anything is sent.

Capabilities only enqueue; the sender (a later issue: bot.sender, run by the scheduler)
delivers due rows. The idempotency key is unique, so enqueueing the same notice twice (a
retried job, a handler re-run) is a no-op.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.clock import isoformat

STATUSES = ("queued", "sending", "sent", "failed", "undeliverable")

# Lower runs first. Late replies to a reader who is waiting come before broadcasts.
PRIORITY_REPLY = 10
PRIORITY_NOTICE = 50
PRIORITY_BROADCAST = 90

migrations = Migrations("outbox")


@migrations()
def create_outbox(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            priority INTEGER NOT NULL DEFAULT 50,
            not_before TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'undeliverable')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error_code INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX outbox_due ON outbox (status, priority, not_before)")


def enqueue(
    db: Database,
    *,
    channel: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    priority: int = PRIORITY_NOTICE,
    not_before: datetime | None = None,
) -> int | None:
    """Queue a message; returns its id, or None when the key was already queued."""
    stamp = isoformat(now)
    cursor = db.execute(
        """
        INSERT INTO outbox (channel, recipient, kind, payload, idempotency_key, priority,
                            not_before, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (idempotency_key) DO NOTHING
        """,
        [
            channel,
            recipient,
            kind,
            json.dumps(payload, ensure_ascii=False),
            idempotency_key,
            priority,
            isoformat(not_before or now),
            stamp,
            stamp,
        ],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def for_recipient(db: Database, channel: str, recipient: str) -> list[dict[str, Any]]:
    rows = db["outbox"].rows_where(
        "channel = ? AND recipient = ?", [channel, recipient], order_by="id"
    )
    return [{**row, "payload": json.loads(row["payload"])} for row in rows]
