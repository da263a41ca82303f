"""The sender: delivers due outbox rows, in priority order, within WeChat's limits.

One sender runs at a time (the scheduler holds a lock), in its own thread of
`python -m bot scheduler`. Each round reads the due rows in priority order, claims each one
(a WeCom request: its rows) just before its call — status `sending`, committed — and commits
the outcome as soon as it is known:

- sent → `sent`;
- a passing error (network, timeout, 5xx, -1, 45009, 45011; a token error after its one
  refresh) → back to `queued`, not before an exponential backoff, up to LIBBOT_SEND_ATTEMPTS;
- this reader cannot get it (43004, 45015, 45047, 81013, 40003) → `undeliverable`;
- any other error → `failed` (a configuration problem: retrying would not mend it).

After a crash (kill -9) rows may be left `sending`: the call may or may not have reached
WeChat, and nothing at WeChat can be asked. A WeCom row is resent as the very same stored
request: WeCom's duplicate check drops it if the first one arrived, so no member gets it
twice and none misses it. A 公众号 row has no such check, so it is not resent (a duplicate
is what readers of peers' tools complain of most): it is marked `failed` with the reason, for
staff to see. Everything `queued` when the sender stopped is sent after the restart, once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlite_utils import Database

from bot.core import outbox, users
from bot.core.db import sibling, write_transaction
from bot.core.values import MP, WORK
from bot.outbound.api import API, HTTP, WeChatError
from bot.outbound.channels import WECOM_BATCH, MPChannel, WorkChannel, templates_from_config
from bot.outbound.tokens import TokenStore, mp_source, work_source
from handlers.kit.services import Services

log = logging.getLogger("guanban.sender")

BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(minutes=30)
IN_FLIGHT = "in flight when the sender stopped; not resent, as WeChat cannot tell if it arrived"
MINUTE = timedelta(minutes=1)


class RateLimiter:
    """At most `rate` acquisitions a second (0: no limit), spaced evenly."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.monotonic = monotonic
        self.sleep = sleep
        self.next_at = 0.0

    def acquire(self) -> None:
        if not self.interval:
            return
        now = self.monotonic()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass
class Round:
    """What one round did, for logs and tests."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    undeliverable: int = 0
    deferred: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.undeliverable


class Sender:
    def __init__(
        self,
        services: Services,
        mp: MPChannel | None,
        work: WorkChannel | None,
        claim_size: int = 200,  # rows read per round (WeCom: five times as many)
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.services = services
        self.mp = mp
        self.work = work
        self.claim_size = claim_size
        settings = services.settings
        self.mp_rate = RateLimiter(settings.mp_send_rate, monotonic, sleep)
        self.work_rate = RateLimiter(settings.work_send_rate, monotonic, sleep)
        self.member_per_minute = settings.work_member_per_minute
        self.max_attempts = settings.send_attempts

    # -- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event, idle: float = 0.5) -> None:
        """Deliver until `stop` is set; sleeps `idle` seconds when nothing is due."""
        self.recover()
        while not stop.is_set():
            try:
                done = self.drain_once()
            except Exception:  # a bad row or a database hiccup must not end delivery
                log.exception("sender round failed")
                done = Round()
            if not done.handled:
                stop.wait(idle)

    def drain(self, rounds: int = 1000) -> Round:
        """Rounds until nothing is due (tests, benchmarks); returns the totals."""
        total = Round()
        for _ in range(rounds):
            done = self.drain_once()
            for name in ("sent", "retried", "failed", "undeliverable", "deferred"):
                setattr(total, name, getattr(total, name) + getattr(done, name))
            if not done.handled:
                break
        return total

    def drain_once(self) -> Round:
        done = Round()
        self._send_mp(done)
        self._send_work(done)
        return done

    # -- recovery ----------------------------------------------------------------------------

    def recover(self) -> None:
        """Settle rows left `sending` by a sender that died mid-call."""
        db, now = self.db(), self.services.now()
        # Without WeCom configured nothing can be resent: those rows fail below, like 公众号's.
        batches = outbox.in_flight_batches(db, WORK) if self.work is not None else []
        for batch_id in batches:
            body = outbox.batch_body(db, batch_id)
            if body is not None:
                log.warning(
                    "resending WeCom batch %s left in flight (duplicate check on)", batch_id
                )
                self._call_work(batch_id, body, Round())
        stale = outbox.fail_in_flight(db, IN_FLIGHT, now)
        if stale:
            log.warning(
                "%d message(s) were in flight when the sender stopped: marked failed", stale
            )

    # -- 公众号 ---------------------------------------------------------------------------------

    def _send_mp(self, done: Round) -> None:
        rows = outbox.due(self.db(), MP, self.services.now(), self.claim_size)
        for row in rows:
            # Claimed one at a time, just before its call: after a crash only the one row
            # that was in flight is left `sending`.
            if not self._claim_one(row):
                continue
            if self.mp is None:
                error = WeChatError(None, "公众号 sending is not configured", False)
                self._settle(row, error, done)
                continue
            now = self.services.now()
            reader = users.get(self.db(), MP, row["recipient"])
            last = reader.get("last_interaction") if reader else None
            last_at = datetime.fromisoformat(last) if isinstance(last, str) else None
            self.mp_rate.acquire()
            try:
                via = self.mp.deliver(
                    row["recipient"], row["kind"], json.loads(row["payload"]), last_at, now
                )
            except WeChatError as error:
                self._settle(row, error, done)
                continue
            self._mark_sent([row["id"]], via)
            done.sent += 1

    # -- WeCom -------------------------------------------------------------------------------

    def _send_work(self, done: Round) -> None:
        for rows, payload in self._plan_work(done):
            if self.work is None:
                error = WeChatError(None, "WeCom sending is not configured", False)
                for row in rows:
                    if self._claim_one(row):
                        self._settle(row, error, done)
                continue
            # Opened just before its call, like a 公众号 row: a crash leaves one request open.
            batch_id, body = self._open_batch(rows, payload)
            self.work_rate.acquire()
            self._call_work(batch_id, body, done)

    def _plan_work(self, done: Round) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Due WeCom rows grouped into requests: the same message to up to 1000 members,
        leaving out members who had their 30 (LIBBOT_WORK_MEMBER_PER_MINUTE) this minute."""
        db, now = self.db(), self.services.now()
        planned: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
        with write_transaction(db):
            rows = outbox.due(db, WORK, now, self.claim_size * 5)
            recent = outbox.recent_claims(db, WORK, now - MINUTE)
            groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for row in rows:
                used = recent.setdefault(row["recipient"], [])
                if len(used) >= self.member_per_minute:
                    # Wait until the oldest of this minute's messages is a minute old.
                    outbox.defer(db, row["id"], min(used) + MINUTE)
                    done.deferred += 1
                    continue
                used.append(now)
                groups.setdefault((row["kind"], row["payload"]), []).append(row)
        for (_, payload), members in groups.items():
            for part in _requests(members):
                planned.append((part, json.loads(payload)))
        return planned

    def _open_batch(
        self, rows: list[dict[str, Any]], payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        assert self.work is not None
        body = self.work.request([r["recipient"] for r in rows], payload)
        ids = [r["id"] for r in rows]
        return outbox.open_batch(self.db(), WORK, body, ids, self.services.now()), body

    def _call_work(self, batch_id: int, body: dict[str, Any], done: Round) -> None:
        assert self.work is not None
        rows = outbox.batch_rows(self.db(), batch_id)
        try:
            invalid = self.work.send(body)
        except WeChatError as error:
            for row in rows:
                self._settle(row, error, done)
            return
        bad = [r for r in rows if r["recipient"] in invalid]
        for row in bad:
            self._settle(row, WeChatError(81013, "not a valid WeCom member", False), done)
        self._mark_sent([r["id"] for r in rows if r not in bad], "message/send")
        done.sent += len(rows) - len(bad)

    # -- rows --------------------------------------------------------------------------------

    def db(self) -> Database:
        return self.services.db()

    def _claim_one(self, row: dict[str, Any]) -> bool:
        claimed = outbox.claim(self.db(), row["id"], self.services.now())
        row["attempts"] += 1
        return claimed

    def _mark_sent(self, ids: Iterable[int], via: str) -> None:
        outbox.mark_sent(self.db(), ids, via, self.services.now())

    def _settle(self, row: dict[str, Any], error: WeChatError, done: Round) -> None:
        now = self.services.now()
        if error.transient and row["attempts"] < self.max_attempts:
            delay = min(BACKOFF_BASE * 2 ** (row["attempts"] - 1), BACKOFF_CAP)
            status, not_before = "queued", now + delay
            done.retried += 1
        else:
            status = "undeliverable" if error.undeliverable else "failed"
            not_before = None
            if status == "failed":
                done.failed += 1
            else:
                done.undeliverable += 1
        outbox.mark_unsent(
            self.db(), row["id"], status, error.code, error.message[:500], now, not_before
        )
        log.log(
            logging.INFO if status == "queued" else logging.WARNING,
            "outbox %s: %s (%s), attempt %d",
            row["id"],
            status,
            error,
            row["attempts"],
        )


def _requests(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows of one message split into requests of at most 1000 members, each member once per
    request (the same message twice to one member would otherwise arrive once)."""
    parts: list[list[dict[str, Any]]] = []
    members: list[set[str]] = []
    for row in rows:
        for part, seen in zip(parts, members, strict=True):
            if len(part) < WECOM_BATCH and row["recipient"] not in seen:
                part.append(row)
                seen.add(row["recipient"])
                break
        else:
            parts.append([row])
            members.append({row["recipient"]})
    return parts


def build_apis(
    services: Services, session: requests.Session | None = None
) -> tuple[API | None, API | None]:
    """The 公众号 and WeCom APIs for the configured accounts (None where not configured),
    sharing one token store and one HTTP session."""
    settings = services.settings
    http = HTTP(settings.http_timeout, session or requests.Session())
    sources = {}
    if settings.mp_appid and settings.mp_secret:
        sources[f"mp:{settings.mp_appid}"] = mp_source(
            settings.wechat_api_base, settings.mp_appid, settings.mp_secret
        )
    if settings.work_corp_id and settings.work_secret:
        sources[f"work:{settings.work_corp_id}"] = work_source(
            settings.work_api_base, settings.work_corp_id, settings.work_secret
        )
    lock_dir = sibling(settings.database, "locks")
    tokens = TokenStore(services.databases, sources, http, services.clock, lock_dir)
    mp = work = None
    if settings.mp_appid and settings.mp_secret:
        mp = API(settings.wechat_api_base, f"mp:{settings.mp_appid}", tokens, http)
    if settings.work_corp_id and settings.work_secret:
        work = API(settings.work_api_base, f"work:{settings.work_corp_id}", tokens, http)
    return mp, work


def build_sender(
    services: Services, session: requests.Session | None = None, **kwargs: Any
) -> Sender:
    """A sender for the configured accounts (either may be missing)."""
    mp_api, work_api = build_apis(services, session)
    mp = MPChannel(mp_api, templates_from_config(services.library)) if mp_api else None
    agent = services.settings.work_agent_id
    work = WorkChannel(work_api, agent) if work_api and agent else None
    return Sender(services, mp, work, **kwargs)
