"""Where each conversation stands: the active form, its slots, the last intent.

Kept in SQLite, not process memory: the next message of a dialog may reach another
worker, or arrive after a restart. A dialog idle for longer than the configured minutes is
forgotten, so a reader who wandered off is not trapped in an old form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat

migrations = Migrations("dialog_state")


@migrations()
def create_dialog_state(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE dialog_state (
            sender_id TEXT PRIMARY KEY,
            active_form TEXT,
            slots TEXT NOT NULL DEFAULT '{}',
            last_intent TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )


@dataclass
class DialogState:
    sender_id: str
    active_form: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    last_intent: str | None = None
    # What the row held when loaded: (active_form, slots as stored, last_intent, updated_at).
    stored: tuple[str | None, str, str | None, datetime] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def requested_slot(self) -> str | None:
        return self.slots.get("requested_slot")


def load(db: Database, sender_id: str, now: datetime, idle: timedelta) -> DialogState:
    row = db.execute(
        "SELECT active_form, slots, last_intent, updated_at FROM dialog_state WHERE sender_id = ?",
        [sender_id],
    ).fetchone()
    if row is None:
        return DialogState(sender_id)
    active_form, slots, last_intent, updated_at = row
    if now - datetime.fromisoformat(updated_at) > idle:
        return DialogState(sender_id)
    stored = (active_form, slots, last_intent, datetime.fromisoformat(updated_at))
    return DialogState(sender_id, active_form, json.loads(slots), last_intent, stored)


# An unchanged state is written again only when its row is older than this: the write only
# moves `updated_at`, which matters against an idle timeout of many minutes, not seconds.
REFRESH = timedelta(minutes=1)


def save(db: Database, state: DialogState, now: datetime) -> None:
    slots = json.dumps(state.slots, ensure_ascii=False)
    if state.stored is not None:
        active_form, stored_slots, last_intent, updated_at = state.stored
        unchanged = (active_form, stored_slots, last_intent) == (
            state.active_form,
            slots,
            state.last_intent,
        )
        if unchanged and timedelta(0) <= now - updated_at < REFRESH:
            return
    db.execute(
        """
        INSERT INTO dialog_state (sender_id, active_form, slots, last_intent, updated_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (sender_id) DO UPDATE SET
            active_form = excluded.active_form,
            slots = excluded.slots,
            last_intent = excluded.last_intent,
            updated_at = excluded.updated_at
        """,
        [state.sender_id, state.active_form, slots, state.last_intent, isoformat(now)],
    )
    state.stored = (state.active_form, slots, state.last_intent, now)
