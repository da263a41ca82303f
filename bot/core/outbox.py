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
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat
from bot.core.db import write_transaction

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


def prune(db: Database, before: datetime) -> int:
    """Delete messages delivered before `before` and the WeCom requests no row needs any
    more; failed and undeliverable ones stay for staff to see. Returns how many went."""
    cutoff = isoformat(before)
    removed = db.execute(
        "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ?", [cutoff]
    ).rowcount
    db.execute(
        "DELETE FROM outbox_batches WHERE created_at < ? AND id NOT IN "
        "(SELECT batch_id FROM outbox WHERE batch_id IS NOT NULL)",
        [cutoff],
    )
    return int(removed)


def of_reader(db: Database, channel: str, recipient: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` messages queued for a reader, each with a line of what it says."""
    rows = db.query(
        "SELECT id, kind, payload, status, via, attempts, last_error, created_at, sent_at "
        "FROM outbox WHERE channel = ? AND recipient = ? ORDER BY id DESC LIMIT ?",
        [channel, recipient, limit],
    )
    return [{**row, "summary": summary(row.pop("payload"))} for row in rows]


def summary(payload: str) -> str:
    """A line of what a queued message says, whatever its shape."""
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    if data.get("content"):
        return str(data["content"])[:120]
    articles = data.get("articles") or []
    if articles and isinstance(articles[0], dict):
        return f"图文：{articles[0].get('title', '')}"[:120]
    fields = data.get("fields") or {}
    if isinstance(fields, dict):
        return "；".join(str(v) for v in fields.values())[:120]
    return ""


# -- delivery: what the sender (bot.outbound.sender) asks of the queue ------------------------
# The sender decides what to send and when; these only read and change rows, so that the
# queue's SQL stays in the one module that declares the table.


def due(db: Database, channel: str, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Queued rows of `channel` whose time has come, in the order they should go."""
    return list(
        db.query(
            "SELECT id, recipient, kind, payload, attempts FROM outbox "
            "WHERE status = 'queued' AND channel = ? AND not_before <= ? "
            "ORDER BY priority, not_before, id LIMIT ?",
            [channel, isoformat(now), limit],
        )
    )


def claim(db: Database, message_id: int, now: datetime) -> bool:
    """Take one queued row for sending (counting the attempt); False when another took it
    or it is no longer queued."""
    stamp = isoformat(now)
    cursor = db.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = ?, "
        "updated_at = ? WHERE id = ? AND status = 'queued'",
        [stamp, stamp, message_id],
    )
    return cursor.rowcount == 1


def recent_claims(db: Database, channel: str, since: datetime) -> dict[str, list[datetime]]:
    """Per recipient, when rows of `channel` sent or being sent were claimed after `since`."""
    recent: dict[str, list[datetime]] = {}
    for recipient, claimed in db.execute(
        "SELECT recipient, claimed_at FROM outbox WHERE channel = ? AND claimed_at > ? "
        "AND status IN ('sending', 'sent')",
        [channel, isoformat(since)],
    ):
        recent.setdefault(recipient, []).append(datetime.fromisoformat(claimed))
    return recent


def defer(db: Database, message_id: int, until: datetime) -> None:
    """Hold a queued row back until `until`."""
    db.execute("UPDATE outbox SET not_before = ? WHERE id = ?", [isoformat(until), message_id])


def open_batch(
    db: Database, channel: str, body: dict[str, Any], ids: Iterable[int], now: datetime
) -> int:
    """Store one request (`body`) and claim its rows for it, in one transaction; returns the
    batch id. The stored body is what a resend after a crash sends again."""
    stamp = isoformat(now)
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO outbox_batches (channel, body, created_at) VALUES (?, ?, ?)",
            [channel, json.dumps(body, ensure_ascii=False), stamp],
        )
        batch_id = int(cursor.lastrowid or 0)
        db.conn.executemany(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, "
            "claimed_at = ?, batch_id = ?, updated_at = ? WHERE id = ?",
            [[stamp, batch_id, stamp, i] for i in ids],
        )
    return batch_id


def batch_rows(db: Database, batch_id: int) -> list[dict[str, Any]]:
    """The rows of a batch still being sent: id, recipient, attempts."""
    return [
        dict(zip(("id", "recipient", "attempts"), r, strict=True))
        for r in db.execute(
            "SELECT id, recipient, attempts FROM outbox WHERE batch_id = ? AND status = 'sending'",
            [batch_id],
        )
    ]


def in_flight_batches(db: Database, channel: str) -> list[int]:
    """The batches of `channel` with rows left `sending`."""
    rows = db.execute(
        "SELECT DISTINCT batch_id FROM outbox WHERE status = 'sending' AND channel = ? "
        "AND batch_id IS NOT NULL",
        [channel],
    ).fetchall()
    return [batch_id for (batch_id,) in rows]


def batch_body(db: Database, batch_id: int) -> dict[str, Any] | None:
    """The request a batch was sent as; None when it is gone."""
    row = db.execute("SELECT body FROM outbox_batches WHERE id = ?", [batch_id]).fetchone()
    if row is None:
        return None
    body: dict[str, Any] = json.loads(row[0])
    return body


def mark_sent(db: Database, ids: Iterable[int], via: str, now: datetime) -> None:
    stamp = isoformat(now)
    db.conn.executemany(
        "UPDATE outbox SET status = 'sent', sent_at = ?, updated_at = ?, via = ?, "
        "last_error_code = NULL, last_error = NULL WHERE id = ?",
        [[stamp, stamp, via, i] for i in ids],
    )


def mark_unsent(
    db: Database,
    message_id: int,
    status: str,
    error_code: int | None,
    error: str,
    now: datetime,
    not_before: datetime | None = None,
) -> None:
    """A send that did not go through: back to `queued` (not before `not_before`), or
    `failed` / `undeliverable`, with the error; the row leaves its batch."""
    db.execute(
        "UPDATE outbox SET status = ?, last_error_code = ?, last_error = ?, updated_at = ?, "
        "not_before = COALESCE(?, not_before), batch_id = NULL WHERE id = ?",
        [
            status,
            error_code,
            error,
            isoformat(now),
            isoformat(not_before) if not_before else None,
            message_id,
        ],
    )


def fail_in_flight(db: Database, reason: str, now: datetime) -> int:
    """Mark every row still `sending` failed with `reason`; returns how many."""
    stale = db.execute(
        "UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? "
        "WHERE status = 'sending' RETURNING id",
        [reason, isoformat(now)],
    ).fetchall()
    return len(stale)
