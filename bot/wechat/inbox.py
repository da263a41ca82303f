"""Every callback WeChat delivered, once: the guard against its retries.

WeChat resends a callback it got no answer to within 5 seconds, up to three times, and a
resend may land on another worker process. The unique key (MsgId, or sender + CreateTime +
event for events) is claimed with one INSERT, so exactly one process handles it; the reply
computed then is kept here for the resends. A quick turn (bot.wechat.pipeline) writes nothing
before its answer is known, so its claim and reply are one INSERT in the turn's own
transaction (`claim` with its answer); a process that loses that race rolls its turn back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat
from bot.core.values import Incoming, Reply, reply_from_json, reply_to_json

KEEP_FOR = timedelta(days=2)  # WeChat retries within seconds; keep a margin for audits
PRUNE_EVERY = 1000  # claims between two prunes of old rows

migrations = Migrations("inbox")


@migrations()
def create_inbound(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE inbound (
            id INTEGER PRIMARY KEY,
            dedup_key TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            received_at TEXT NOT NULL,
            reply TEXT,
            status TEXT NOT NULL DEFAULT 'handling'
                CHECK (status IN ('handling', 'answered', 'held', 'late'))
        )
        """
    )
    db.execute("CREATE INDEX inbound_received_at ON inbound (received_at)")


def claim(db: Database, incoming: Incoming, now: datetime, answer: Reply | None = None) -> bool:
    """True if this process is the first to see the callback and must handle it.

    With `answer`, the callback is claimed already answered, for a turn that wrote nothing
    before its answer was known (a quick one): run inside that turn's own transaction, so
    the claim, the bookkeeping and the stored reply are one commit; on False the caller
    drops its turn."""
    cursor = db.execute(
        """
        INSERT INTO inbound (dedup_key, channel, user_id, kind, received_at, reply, status)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (dedup_key) DO NOTHING
        """,
        [
            incoming.dedup_key,
            incoming.channel,
            incoming.user_id,
            incoming.kind,
            isoformat(now),
            None if answer is None else reply_to_json(answer),
            "handling" if answer is None else "answered",
        ],
    )
    if cursor.rowcount != 1:
        return False
    if cursor.lastrowid and cursor.lastrowid % PRUNE_EVERY == 0:
        prune(db, now)
    return True


def is_claimed(db: Database, incoming: Incoming) -> bool:
    """Whether a process has claimed the callback already (a read: no write lock taken)."""
    row = db.execute("SELECT 1 FROM inbound WHERE dedup_key = ?", [incoming.dedup_key])
    return row.fetchone() is not None


def settle(db: Database, incoming: Incoming, reply: Reply, status: str) -> bool:
    """Store `reply` with `status` ('answered' by the handler, 'held' by the request that
    gave up waiting) only while the callback is still 'handling': whichever of the two comes
    first wins, atomically, and the other learns it from the False."""
    cursor = db.execute(
        "UPDATE inbound SET reply = ?, status = ? WHERE dedup_key = ? AND status = 'handling'",
        [reply_to_json(reply), status, incoming.dedup_key],
    )
    return cursor.rowcount == 1


def record_reply(db: Database, incoming: Incoming, reply: Reply, status: str) -> None:
    db.execute(
        "UPDATE inbound SET reply = ?, status = ? WHERE dedup_key = ?",
        [reply_to_json(reply), status, incoming.dedup_key],
    )


def mark(db: Database, incoming: Incoming, status: str) -> None:
    db.execute("UPDATE inbound SET status = ? WHERE dedup_key = ?", [status, incoming.dedup_key])


def stored_reply(db: Database, incoming: Incoming) -> Reply | None:
    row = db.execute(
        "SELECT reply FROM inbound WHERE dedup_key = ?", [incoming.dedup_key]
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return reply_from_json(row[0])


def prune(db: Database, now: datetime) -> int:
    cursor = db.execute("DELETE FROM inbound WHERE received_at < ?", [isoformat(now - KEEP_FOR)])
    return cursor.rowcount
