"""Readers and staff as the bot knows them: one row per channel + openid/userid.

`last_interaction` matters beyond statistics: WeChat accepts customer-service messages to a
reader only within 48 hours of their last interaction, so the outbox reads it.

A reader may be banned until a moment, with a reason the reader is told (the router answers
them with `ban_notice` and nothing else, except crisis help and 转人工). A ban whose moment
has passed is no ban: nothing needs to lift it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import TZ, isoformat
from bot.core.values import Incoming

ROLES = ("reader", "staff", "admin", "counsellor")
READER_TYPES = ("student", "teacher")
MAX_BAN_REASON = 200

# What a banned reader is told, whatever they write (crisis help and 转人工 excepted).
BANNED = (
    "抱歉，你暂时无法使用馆伴的服务，将于 {until} 恢复。原因：{reason}\n"
    "如有疑问，可以发送「转人工」联系馆员，或到服务台咨询。"
)
# The same for a bot built without the hand-off: no command that goes nowhere.
BANNED_ALONE = (
    "抱歉，你暂时无法使用馆伴的服务，将于 {until} 恢复。原因：{reason}\n如有疑问，请到服务台咨询。"
)

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


@migrations()
def add_bans(db: Database) -> None:
    db.execute("ALTER TABLE users ADD COLUMN banned_until TEXT")
    db.execute("ALTER TABLE users ADD COLUMN ban_reason TEXT")
    # The dashboard counts readers active since a moment.
    db.execute("CREATE INDEX users_last_interaction ON users (last_interaction)")


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


class RecentTouches:
    """Skips `touch` for a reader this process recorded less than `interval` ago.

    `last_interaction` serves a 48-hour window and "active since" counts, so a minute's
    staleness changes nothing, while writing it for every message of a conversation cost
    each message a write. (Un)follow events always go through: they change `subscribed`.
    Per process and bounded: forgotten wholesale when it grows past `size` readers.
    """

    def __init__(self, interval: timedelta = timedelta(minutes=1), size: int = 10_000) -> None:
        self.interval = interval
        self.size = size
        self._last: dict[tuple[str, str], datetime] = {}

    def touch(self, db: Database, incoming: Incoming, now: datetime) -> None:
        key = (incoming.channel, incoming.user_id)
        last = self._last.get(key)
        if (
            last is not None
            and _subscription_change(incoming) is None
            and timedelta(0) <= now - last < self.interval
        ):
            return
        touch(db, incoming, now)
        if len(self._last) >= self.size:
            self._last.clear()
        self._last[key] = now


def _subscription_change(incoming: Incoming) -> int | None:
    if incoming.kind != "event":
        return None
    if incoming.event in ("subscribe", "subscribe_scan"):
        return 1
    if incoming.event == "unsubscribe":
        return 0
    return None


def get(db: Database, channel: str, user_id: str) -> dict[str, Any] | None:
    # A query, not sqlite-utils' rows_where: that looks the table up in sqlite_master (three
    # queries) first, and every reservation message asks for its reader.
    rows = db.query("SELECT * FROM users WHERE channel = ? AND user_id = ?", [channel, user_id])
    user = next(rows, None)
    return None if user is None else _decoded(user)


def profile(db: Database, channel: str, user_id: str, now: datetime) -> dict[str, Any] | None:
    """The reader as staff see them: `get()` plus whether a ban is in force `now`."""
    user = get(db, channel, user_id)
    if user is not None:
        user["ban_in_force"] = ban_in_force(user, now)
    return user


def _decoded(user: dict[str, Any]) -> dict[str, Any]:
    user["roles"] = json.loads(user["roles"])
    user["subscribed"] = bool(user["subscribed"])
    return user


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(db: Database, query: str, limit: int, skip: int) -> tuple[list[dict[str, Any]], int]:
    """Readers whose openid/userid or student number starts with `query`, or whose name
    contains it; the most recently active first. An empty query lists everyone."""
    query = query.strip()
    where, params = "", {}
    if query:
        where = (
            "WHERE user_id LIKE :start ESCAPE '\\' OR student_no LIKE :start ESCAPE '\\' "
            "OR name LIKE :within ESCAPE '\\'"
        )
        params = {"start": f"{_like(query)}%", "within": f"%{_like(query)}%"}
    total = db.execute(f"SELECT count(*) FROM users {where}", params).fetchone()[0]
    rows = db.query(
        f"SELECT * FROM users {where} ORDER BY last_interaction DESC, id DESC "
        "LIMIT :limit OFFSET :skip",
        {**params, "limit": limit, "skip": skip},
    )
    return [_decoded(row) for row in rows], int(total)


def names_of(
    db: Database, readers: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The name and student number of each (channel, user_id) given, for the ones we know:
    (channel, user_id) → {"name": …, "student_no": …}. One query, however many are asked."""
    keys = sorted(set(readers))
    if not keys:
        return {}
    rows = db.execute(
        "SELECT u.channel, u.user_id, u.name, u.student_no FROM json_each(?) AS j "
        "JOIN users u ON u.channel = json_extract(j.value, '$[0]') "
        "AND u.user_id = json_extract(j.value, '$[1]')",
        [json.dumps(keys)],
    )
    return {
        (channel, user_id): {"name": name, "student_no": student_no}
        for channel, user_id, name, student_no in rows
    }


def matching_name_or_number(db: Database, text: str) -> list[tuple[str, str]]:
    """The readers (channel, user_id) whose student number starts with `text` or whose
    name contains it, as staff search for them."""
    rows = db.execute(
        "SELECT channel, user_id FROM users "
        "WHERE student_no LIKE :start ESCAPE '\\' OR name LIKE :within ESCAPE '\\'",
        {"start": f"{_like(text)}%", "within": f"%{_like(text)}%"},
    )
    return [(channel, user_id) for channel, user_id in rows]


def ban(
    db: Database, channel: str, user_id: str, until: datetime, reason: str, now: datetime
) -> bool:
    """Ban a reader until `until` (which must be later than `now`), telling them `reason`.
    False when there is no such reader."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("a ban needs a reason the reader is told")
    if len(reason) > MAX_BAN_REASON:
        raise ValueError(f"the reason is longer than {MAX_BAN_REASON} characters")
    if until.tzinfo is None:
        raise ValueError("the ban's end needs a time zone")
    if until <= now:
        raise ValueError("the ban's end is not in the future")
    cursor = db.execute(
        "UPDATE users SET banned_until = ?, ban_reason = ? WHERE channel = ? AND user_id = ?",
        [isoformat(until), reason, channel, user_id],
    )
    return cursor.rowcount == 1


def unban(db: Database, channel: str, user_id: str) -> bool:
    """Lift a reader's ban (whether in force or expired); False when there is no such reader."""
    cursor = db.execute(
        "UPDATE users SET banned_until = NULL, ban_reason = NULL WHERE channel = ? AND user_id = ?",
        [channel, user_id],
    )
    return cursor.rowcount == 1


def ban_in_force(user: dict[str, Any] | None, now: datetime) -> bool:
    until = (user or {}).get("banned_until")
    return bool(until) and datetime.fromisoformat(str(until)) > now


def banned(db: Database, channel: str, user_id: str, now: datetime) -> dict[str, Any] | None:
    """The reader's row if a ban is in force now, else None (one indexed lookup)."""
    row = db.execute(
        "SELECT banned_until, ban_reason FROM users "
        "WHERE channel = ? AND user_id = ? AND banned_until IS NOT NULL",
        [channel, user_id],
    ).fetchone()
    if row is None or datetime.fromisoformat(row[0]) <= now:
        return None
    return {"banned_until": row[0], "ban_reason": row[1]}


def ban_notice(ban: dict[str, Any], now: datetime, handoff: bool = True) -> str:
    """The one sentence a banned reader gets (`handoff`: the bot answers 「转人工」)."""
    until = datetime.fromisoformat(str(ban["banned_until"])).astimezone(TZ)
    shown = f"{until.month}月{until.day}日 {until:%H:%M}"
    if until.year != now.astimezone(TZ).year:
        shown = f"{until.year}年{shown}"
    reason = str(ban.get("ban_reason") or "").rstrip("。") + "。"
    return (BANNED if handoff else BANNED_ALONE).format(until=shown, reason=reason)


def active_since(db: Database, since: datetime) -> int:
    """How many readers wrote to us (or followed) at or after `since`."""
    row = db.execute(
        "SELECT count(*) FROM users WHERE last_interaction >= ?", [isoformat(since)]
    ).fetchone()
    return int(row[0])


def subscribers(db: Database) -> dict[str, int]:
    """Readers following us now, per channel."""
    cursor = db.execute(
        "SELECT channel, count(*) FROM users WHERE subscribed = 1 GROUP BY channel ORDER BY channel"
    )
    return {str(channel): int(count) for channel, count in cursor.fetchall()}


def set_roles(db: Database, channel: str, user_id: str, roles: list[str]) -> bool:
    """Replace the reader's roles in chat; False when there is no such reader."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    if not roles:
        raise ValueError("a reader has at least one role")
    cursor = db.execute(
        "UPDATE users SET roles = ? WHERE channel = ? AND user_id = ?",
        [json.dumps(sorted(set(roles))), channel, user_id],
    )
    return cursor.rowcount == 1


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
