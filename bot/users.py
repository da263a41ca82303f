"""Readers and staff as the bot knows them: one row per channel + openid/userid.

`last_interaction` matters beyond statistics: WeChat accepts customer-service messages to a
reader only within 48 hours of their last interaction, so the outbox reads it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.clock import isoformat
from bot.values import Incoming

ROLES = ("reader", "staff", "admin", "counsellor")
READER_TYPES = ("student", "teacher")

migrations = Migrations("users")


@migrations()
def create_users(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_interaction TEXT NOT NULL,
            subscribed INTEGER NOT NULL DEFAULT 1,
            roles TEXT NOT NULL DEFAULT '["reader"]',
            name TEXT,
            student_no TEXT,
            college TEXT,
            grade TEXT,
            reader_type TEXT CHECK (reader_type IN ('student', 'teacher')),
            UNIQUE (channel, user_id)
        )
        """
    )


def touch(db: Database, incoming: Incoming, now: datetime) -> None:
    """Record that this reader just wrote to us (creating them on first contact).

    One upsert statement, so two workers seeing a reader's first two messages at once
    still make exactly one row.
    """
    db.execute(
        """
        INSERT INTO users (channel, user_id, first_seen, last_interaction, subscribed)
        VALUES (:channel, :user_id, :now, :now, coalesce(:change, 1))
        ON CONFLICT (channel, user_id) DO UPDATE SET
            -- Unfollowing opens no 48-hour window for customer-service messages.
            last_interaction = CASE WHEN :change = 0 THEN users.last_interaction
                                    ELSE excluded.last_interaction END,
            subscribed = coalesce(:change, users.subscribed)
        """,
        {
            "channel": incoming.channel,
            "user_id": incoming.user_id,
            "now": isoformat(now),
            "change": _subscription_change(incoming),
        },
    )


def _subscription_change(incoming: Incoming) -> int | None:
    if incoming.kind != "event":
        return None
    if incoming.event in ("subscribe", "subscribe_scan"):
        return 1
    if incoming.event == "unsubscribe":
        return 0
    return None


def get(db: Database, channel: str, user_id: str) -> dict[str, Any] | None:
    rows = db["users"].rows_where("channel = ? AND user_id = ?", [channel, user_id])
    user = next(iter(rows), None)
    if user is None:
        return None
    user["roles"] = json.loads(user["roles"])
    user["subscribed"] = bool(user["subscribed"])
    return user


def set_roles(db: Database, channel: str, user_id: str, roles: list[str]) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    db.execute(
        "UPDATE users SET roles = ? WHERE channel = ? AND user_id = ?",
        [json.dumps(sorted(set(roles))), channel, user_id],
    )


def update_profile(db: Database, channel: str, user_id: str, **profile: str | None) -> None:
    allowed = {"name", "student_no", "college", "grade", "reader_type"}
    unknown = set(profile) - allowed
    if unknown:
        raise ValueError(f"unknown profile fields: {sorted(unknown)}")
    if not profile:
        return
    assignments = ", ".join(f"{key} = ?" for key in profile)
    db.execute(
        f"UPDATE users SET {assignments} WHERE channel = ? AND user_id = ?",
        [*profile.values(), channel, user_id],
    )
