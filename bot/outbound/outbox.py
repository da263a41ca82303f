"""Messages the library sends first: every one is a row here before anything is sent.

Capabilities only enqueue; the sender (bot.outbound.sender, run by `python -m bot scheduler`)
delivers due rows. The idempotency key is unique, so enqueueing the same notice twice (a
retried job, a handler re-run) is a no-op.

Payloads are bot.core.values' reply shapes — `{"type": "text", "content": …}` or
`{"type": "news", "articles": […]}` — plus, for a notice that may go out as a 公众号
template message, `"fields"` (named values the template's keywords take) and `"url"`.
Statuses: queued → sending → sent; failed (gave up, or an error that retrying cannot mend);
undeliverable (this reader cannot get it: not following, outside the 48 hours, …).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat

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


@migrations()
def add_sender_bookkeeping(db: Database) -> None:
    # claimed_at: when the sender took the row (WeCom's per-member minute counts these);
    # batch_id: the WeCom request it went out in, kept so a resend after a crash is the
    # same request (which WeCom's duplicate check then drops); via: custom or template.
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_at TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN batch_id INTEGER")
    db.execute("ALTER TABLE outbox ADD COLUMN via TEXT")
    db.execute("CREATE INDEX outbox_recipient_claims ON outbox (channel, recipient, claimed_at)")
    db.execute(
        """
        CREATE TABLE outbox_batches (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )


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
