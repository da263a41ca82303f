"""Violations (a no-show, an overstayed 暂离), the suspension they lead to, and waiving one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core.clock import isoformat
from handlers.reservations.spaces import Spaces
from handlers.reservations.store import BookingError, Reader


def add_violation(db: Database, booking: dict[str, Any], kind: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO violations (channel, user_id, booking_id, kind, at) VALUES (?, ?, ?, ?, ?)",
        [booking["channel"], booking["user_id"], booking["id"], kind, isoformat(now)],
    )


def violations_within(db: Database, reader: Reader, now: datetime, days: int) -> int:
    """Violations not waived in the last `days` days."""
    return int(
        db.execute(
            "SELECT count(*) FROM violations WHERE channel = ? AND user_id = ? "
            "AND waived_at IS NULL AND at > ?",
            [reader.channel, reader.user_id, isoformat(now - timedelta(days=days))],
        ).fetchone()[0]
    )


def suspended_until(db: Database, spaces: Spaces, reader: Reader, now: datetime) -> datetime | None:
    """When the reader may book again, if the violation policy suspends them now."""
    policy = spaces.policy
    rows = [
        datetime.fromisoformat(r[0])
        for r in db.execute(
            "SELECT at FROM violations WHERE channel = ? AND user_id = ? AND waived_at IS NULL "
            "AND at > ? ORDER BY at",
            [
                reader.channel,
                reader.user_id,
                isoformat(now - timedelta(days=policy.window_days + policy.suspend_days)),
            ],
        )
    ]
    # Suspended from the moment the limit is reached within a window, for suspend_days.
    for i in range(len(rows) - policy.limit + 1):
        first, reached = rows[i], rows[i + policy.limit - 1]
        if reached - first <= timedelta(days=policy.window_days):
            until = reached + timedelta(days=policy.suspend_days)
            if until > now:
                return until
    return None


def waive(db: Database, violation_id: int, by: str, reason: str, now: datetime) -> bool:
    if not reason.strip():
        raise BookingError("请写明免除违约的原因。", "reason_required")
    return (
        db.execute(
            "UPDATE violations SET waived_at = ?, waived_by = ?, waive_reason = ? "
            "WHERE id = ? AND waived_at IS NULL",
            [isoformat(now), by, reason.strip()[:200], violation_id],
        ).rowcount
        == 1
    )
