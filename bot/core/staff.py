"""Staff accounts, their API tokens, login throttling and the audit log.

Librarians log in with a username and password (hashed with werkzeug's scrypt, salted); a
role says what they may do: `admin` (everything, including accounts and the audit log),
`staff` (tickets, readers, messages), `counsellor` (reading-therapy work). An account can be
disabled; it then reaches nothing, whatever its role. API tokens belong to an account and act
with its role; only their SHA-256 is stored, the token itself is shown once.

Every change a staff member makes goes through `audit()`: who, what, when, before and after.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations
from werkzeug.security import check_password_hash, generate_password_hash

from bot.core.clock import isoformat
from bot.core.errors import Invalid

ROLES = ("admin", "staff", "counsellor")
MIN_PASSWORD = 10
MAX_FAILURES = 5  # failed logins within FAILURE_WINDOW before a lock
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
TOKEN_PREFIX = "gb_"
# A hash to check against when the username does not exist, so a wrong username costs the
# same time as a wrong password and the answer does not tell which one was wrong.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")

migrations = Migrations("staff")


@migrations()
def create_staff_tables(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE staff (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'counsellor')),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            last_login_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            staff_id INTEGER NOT NULL REFERENCES staff (id),
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            hint TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE login_failures (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            locked_until TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            staff_id INTEGER,
            username TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            before TEXT,
            after TEXT,
            ip TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX audit_log_at ON audit_log (at)")


class AccountError(Invalid):
    """An account cannot be created or changed as asked; the message says why (the console
    flashes it, the CLI prints it)."""


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    display_name: str
    role: str
    active: bool

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def may(self, *roles: str) -> bool:
        return self.active and (not roles or self.role in roles or self.role == "admin")


def _staff(row: Any) -> Staff:
    return Staff(int(row[0]), str(row[1]), str(row[2]), str(row[3]), bool(row[4]))


COLUMNS = "id, username, display_name, role, active"


def create(
    db: Database, username: str, password: str, role: str, now: datetime, display_name: str = ""
) -> Staff:
    username = username.strip()
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AccountError("用户名需为 1–64 个字符，不含空格")
    if role not in ROLES:
        raise AccountError(f"角色须为 {' / '.join(ROLES)} 之一")
    check_password(password)
    try:
        cursor = db.execute(
            "INSERT INTO staff (username, display_name, password_hash, role, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                username,
                display_name.strip(),
                generate_password_hash(password),
                role,
                isoformat(now),
            ],
        )
    except Exception as error:
        if "UNIQUE" in str(error):
            raise AccountError(f"用户名 {username} 已存在") from None
        raise
    return get(db, int(cursor.lastrowid or 0))  # type: ignore[return-value]


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")


def get(db: Database, staff_id: int) -> Staff | None:
    row = db.execute(f"SELECT {COLUMNS} FROM staff WHERE id = ?", [staff_id]).fetchone()
    return _staff(row) if row else None


def by_username(db: Database, username: str) -> Staff | None:
    row = db.execute(f"SELECT {COLUMNS} FROM staff WHERE username = ?", [username]).fetchone()
    return _staff(row) if row else None


def all_staff(db: Database) -> list[Staff]:
    return [_staff(r) for r in db.execute(f"SELECT {COLUMNS} FROM staff ORDER BY username")]


def authenticate(db: Database, username: str, password: str, now: datetime) -> Staff | None:
    """The account if the password is right and the account active, else None."""
    row = db.execute(
        f"SELECT {COLUMNS}, password_hash FROM staff WHERE username = ?", [username.strip()]
    ).fetchone()
    if row is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(row[5], password) or not row[4]:
        return None
    db.execute("UPDATE staff SET last_login_at = ? WHERE id = ?", [isoformat(now), row[0]])
    return _staff(row)


def set_password(db: Database, staff_id: int, password: str) -> None:
    check_password(password)
    db.execute(
        "UPDATE staff SET password_hash = ? WHERE id = ?",
        [generate_password_hash(password), staff_id],
    )


def update(
    db: Database, staff_id: int, *, role: str | None = None, active: bool | None = None
) -> None:
    if role is not None and role not in ROLES:
        raise AccountError(f"角色须为 {' / '.join(ROLES)} 之一")
    if role is not None:
        db.execute("UPDATE staff SET role = ? WHERE id = ?", [role, staff_id])
    if active is not None:
        db.execute("UPDATE staff SET active = ? WHERE id = ?", [int(active), staff_id])


# -- login throttling ----------------------------------------------------------------------------


def locked_until(db: Database, keys: list[str], now: datetime) -> datetime | None:
    """When the latest lock on any of `keys` (username, client address) ends, if one holds."""
    latest = None
    for key in keys:
        row = db.execute("SELECT locked_until FROM login_failures WHERE key = ?", [key]).fetchone()
        if row and row[0]:
            until = datetime.fromisoformat(row[0])
            if until > now and (latest is None or until > latest):
                latest = until
    return latest


def record_failure(db: Database, keys: list[str], now: datetime) -> None:
    for key in keys:
        row = db.execute(
            "SELECT failures, first_at FROM login_failures WHERE key = ?", [key]
        ).fetchone()
        if row is None or now - datetime.fromisoformat(row[1]) > FAILURE_WINDOW:
            failures, first = 1, now
        else:
            failures, first = int(row[0]) + 1, datetime.fromisoformat(row[1])
        locked = isoformat(now + LOCK_FOR) if failures >= MAX_FAILURES else None
        db.execute(
            "INSERT INTO login_failures (key, failures, first_at, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
            "first_at = excluded.first_at, locked_until = excluded.locked_until",
            [key, 0 if locked else failures, isoformat(first), locked],
        )


def clear_failures(db: Database, keys: list[str]) -> None:
    for key in keys:
        db.execute("DELETE FROM login_failures WHERE key = ?", [key])


# -- API tokens ----------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, staff_id: int, name: str, now: datetime) -> tuple[int, str]:
    """A new token for the account; returns (id, the token — shown once, never stored)."""
    name = name.strip()[:64] or "API"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cursor = db.execute(
        "INSERT INTO api_tokens (staff_id, name, token_hash, hint, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [staff_id, name, _hash(token), token[-4:], isoformat(now)],
    )
    return int(cursor.lastrowid or 0), token


def tokens_of(db: Database, staff_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT id, name, hint, created_at, last_used_at, revoked_at FROM api_tokens "
            "WHERE staff_id = ? ORDER BY id DESC",
            [staff_id],
        )
    )


def revoke_token(db: Database, staff_id: int, token_id: int, now: datetime) -> bool:
    return (
        db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND staff_id = ? "
            "AND revoked_at IS NULL",
            [isoformat(now), token_id, staff_id],
        ).rowcount
        == 1
    )


def staff_for_token(db: Database, token: str, now: datetime) -> Staff | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.execute(
        "SELECT t.id, s.id FROM api_tokens t JOIN staff s ON s.id = t.staff_id "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND s.active = 1",
        [_hash(token)],
    ).fetchone()
    if row is None:
        return None
    db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [isoformat(now), row[0]])
    return get(db, int(row[1]))


# -- the audit log -------------------------------------------------------------------------------


def audit(
    db: Database,
    who: Staff,
    action: str,
    target: str,
    now: datetime,
    before: Any = None,
    after: Any = None,
    ip: str = "",
) -> None:
    db.execute(
        "INSERT INTO audit_log (at, staff_id, username, action, target, before, after, ip) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            isoformat(now),
            who.id,
            who.username,
            action,
            target,
            None if before is None else json.dumps(before, ensure_ascii=False, default=str),
            None if after is None else json.dumps(after, ensure_ascii=False, default=str),
            ip,
        ],
    )


def audit_entries(
    db: Database, limit: int, skip: int, action: str = ""
) -> tuple[list[dict[str, Any]], int]:
    """One page of the audit log, newest first, with `before`/`after` decoded, and how many
    entries match; `action` keeps those whose action starts with it ("" for all)."""
    where, params = ("WHERE action LIKE ?", [f"{action}%"]) if action else ("", [])
    total = db.execute(f"SELECT count(*) FROM audit_log {where}", params).fetchone()[0]
    rows = []
    for item in db.query(
        f"SELECT id, at, username, action, target, before, after, ip FROM audit_log {where} "
        "ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, skip],
    ):
        for key in ("before", "after"):
            item[key] = json.loads(item[key]) if item[key] else None
        rows.append(item)
    return rows, int(total)
