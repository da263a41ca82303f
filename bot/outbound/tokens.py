"""Access tokens: one per account, shared by every process, refreshed ahead of expiry.

A 公众号 token is invalidated by the next fetch, so two processes that each fetch one knock
each other out. Here the token lives in SQLite with its expiry; a process that finds it
stale (or due within REFRESH_AHEAD) takes a file lock for that account, reads again — another
process may have refreshed it meanwhile — and only then fetches. The lock is a file lock, not
SQLite's write lock, so a slow token endpoint never stalls the webhook's writes.

`token(account, stale=t)` is the bounded refresh after a 40001/42001: it fetches a new token
only if the stored one is still `t`; if another process already replaced it, that one is used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import Clock, isoformat
from bot.core.db import Databases, file_lock
from bot.outbound.api import HTTP, WeChatError

log = logging.getLogger("guanban.tokens")

REFRESH_AHEAD = timedelta(minutes=5)
MIN_LIFETIME = timedelta(seconds=60)  # a token said to live less is not kept

migrations = Migrations("tokens")


@migrations()
def create_access_tokens(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE access_tokens (
            account TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        )
        """
    )


@dataclass(frozen=True)
class TokenSource:
    """Where an account's token comes from: a GET with these parameters."""

    url: str
    params: dict[str, str]


def mp_source(base: str, appid: str, secret: str) -> TokenSource:
    return TokenSource(
        base.rstrip("/") + "/cgi-bin/token",
        {"grant_type": "client_credential", "appid": appid, "secret": secret},
    )


def work_source(base: str, corp_id: str, secret: str) -> TokenSource:
    return TokenSource(
        base.rstrip("/") + "/cgi-bin/gettoken", {"corpid": corp_id, "corpsecret": secret}
    )


class TokenStore:
    def __init__(
        self,
        databases: Databases,
        sources: dict[str, TokenSource],
        http: HTTP,
        clock: Clock,
        lock_dir: Path,
    ) -> None:
        self.databases = databases
        self.sources = sources
        self.http = http
        self.clock = clock
        self.lock_dir = lock_dir

    def token(
        self, account: str, stale: str | None = None, ahead: timedelta = REFRESH_AHEAD
    ) -> str:
        """A token for `account` valid for at least `ahead`; `stale` names one WeChat just
        refused."""
        current = self._usable(account, stale, ahead)
        if current is not None:
            return current
        lock = self.lock_dir / f"token-{account.replace(':', '_')}.lock"
        with file_lock(lock):
            current = self._usable(account, stale, ahead)  # refreshed by another meanwhile?
            if current is not None:
                return current
            return self._fetch(account)

    def _usable(self, account: str, stale: str | None, ahead: timedelta) -> str | None:
        row = (
            self.databases.get()
            .execute("SELECT token, expires_at FROM access_tokens WHERE account = ?", [account])
            .fetchone()
        )
        if row is None:
            return None
        token, expires_at = row
        if token == stale:
            return None
        if datetime.fromisoformat(expires_at) - ahead <= self.clock():
            return None
        return str(token)

    def _fetch(self, account: str) -> str:
        source = self.sources.get(account)
        if source is None:
            raise WeChatError(None, f"no credentials for {account}", transient=False)
        answer: dict[str, Any] = self.http.get(source.url, source.params)
        token = answer.get("access_token")
        lifetime = timedelta(seconds=int(answer.get("expires_in") or 0))
        if not isinstance(token, str) or not token or lifetime < MIN_LIFETIME:
            raise WeChatError(None, "token answer without a usable token", transient=True)
        now = self.clock()
        self.databases.get().execute(
            """
            INSERT INTO access_tokens (account, token, expires_at, fetched_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (account) DO UPDATE SET
                token = excluded.token,
                expires_at = excluded.expires_at,
                fetched_at = excluded.fetched_at
            """,
            [account, token, isoformat(now + lifetime), isoformat(now)],
        )
        log.info(
            "fetched a new access token for %s (valid %ss)", account, int(lifetime.total_seconds())
        )
        return token
