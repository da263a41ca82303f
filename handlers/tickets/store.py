"""Tickets: feedback and hand-offs that a librarian must answer (首问责任制).

This module owns the `tickets` and `ticket_messages` tables and the reader's side: opening a
ticket, adding to it, a reader's tickets and open crisis hand-off. The staff side — listing,
answering, assigning, closing — is handlers.tickets.desk, with the rules the console relies
on. Every ticket has a reference number the reader is told, so "我上次反馈的 FK000012" can be
found at the desk.

A ticket's thread is its messages: the reader's first words, what they added later
(`append`), and every staff reply.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat
from bot.core.db import write_transaction
from handlers.tickets.words import TICKET_KINDS, TICKET_STATUSES

FEEDBACK = "feedback"
HANDOFF = "handoff"
KINDS = (FEEDBACK, HANDOFF)
PREFIXES = {FEEDBACK: "FK", HANDOFF: "RG"}
STATUSES = ("open", "closed")
MAX_TEXT = 2000
MAX_REPLY = 1000
# handlers/crisis.py opens its urgent hand-offs with these words (a test keeps them equal);
# such tickets go first and in red wherever tickets are listed.
CRISIS_PREFIX = "【紧急·危机信号】"
REPLY_KIND = "ticket_reply"
REPLY_HEADER = "【馆员回复 · {ref}】"

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


@migrations()
def create_ticket_messages(db: Database) -> None:
    # outbox_id: the queued message a staff reply became, so the thread can say whether it
    # reached the reader.
    db.execute(
        """
        CREATE TABLE ticket_messages (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets (id),
            author TEXT NOT NULL CHECK (author IN ('reader', 'staff')),
            staff_username TEXT,
            text TEXT NOT NULL,
            at TEXT NOT NULL,
            outbox_id INTEGER
        )
        """
    )
    db.execute("CREATE INDEX ticket_messages_thread ON ticket_messages (ticket_id, id)")
    # Tickets from before the thread existed: their text, as the reader's one message.
    db.execute(
        "INSERT INTO ticket_messages (ticket_id, author, text, at) "
        "SELECT id, 'reader', text, created_at FROM tickets WHERE text != '' ORDER BY id"
    )


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
        ticket_id = int(cursor.lastrowid or 0)
        ref = f"{PREFIXES[kind]}{ticket_id:06d}"
        db.execute("UPDATE tickets SET ref = ? WHERE id = ?", [ref, ticket_id])
        if text:
            _add_message(db, ticket_id, "reader", None, text, stamp)
    return ref


def append(db: Database, ref: str, text: str, now: datetime) -> None:
    """Add the reader's next words to an open ticket."""
    with write_transaction(db):
        rows = db.execute(
            """
            UPDATE tickets
            SET text = substr(CASE WHEN text = '' THEN ? ELSE text || char(10) || ? END, 1, ?),
                updated_at = ?
            WHERE ref = ?
            RETURNING id
            """,
            [text, text, MAX_TEXT, isoformat(now), ref],
        ).fetchall()  # fetched to the end: the statement is finished before the next one
        if rows and text:
            _add_message(db, int(rows[0][0]), "reader", None, text, isoformat(now))


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


def _add_message(
    db: Database, ticket_id: int, author: str, staff_username: str | None, text: str, at: str
) -> int:
    cursor = db.execute(
        "INSERT INTO ticket_messages (ticket_id, author, staff_username, text, at) "
        "VALUES (?, ?, ?, ?, ?)",
        [ticket_id, author, staff_username, text[:MAX_TEXT], at],
    )
    return int(cursor.lastrowid or 0)


# -- a reader's tickets ------------------------------------------------------------------------


def is_crisis(ticket: dict[str, Any]) -> bool:
    return ticket["kind"] == HANDOFF and str(ticket["text"]).startswith(CRISIS_PREFIX)


def open_crisis(db: Database, channel: str, user_id: str) -> bool:
    """Whether this reader has a crisis hand-off that no librarian has closed yet."""
    row = db.execute(
        "SELECT 1 FROM tickets WHERE channel = ? AND user_id = ? AND kind = ? AND status = 'open' "
        "AND substr(text, 1, ?) = ? LIMIT 1",
        [channel, user_id, HANDOFF, len(CRISIS_PREFIX), CRISIS_PREFIX],
    ).fetchone()
    return row is not None


def of_reader(db: Database, channel: str, user_id: str) -> list[dict[str, Any]]:
    """A reader's tickets, newest first, with the words the console shows for them."""
    rows = db.query(
        "SELECT ref, kind, status, text, created_at, due_at, closed_at FROM tickets "
        "WHERE channel = ? AND user_id = ? ORDER BY id DESC",
        [channel, user_id],
    )
    return [
        {
            **row,
            "kind_label": TICKET_KINDS.get(row["kind"], row["kind"]),
            "status_label": TICKET_STATUSES.get(row["status"], row["status"]),
        }
        for row in rows
    ]
