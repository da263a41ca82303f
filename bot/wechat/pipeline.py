"""Deduplicate, handle within the deadline, remember the answer.

WeChat waits 5 seconds and then resends the same callback. So: the first process to claim
a callback handles it; a handler that runs past the budget (default 3.5 s) is answered with
a holding reply while it goes on in its thread, and its result is queued in the outbox for
delivery as a customer-service message instead of being lost.

The hop to the handler pool is what makes the holding reply possible, and it costs every
message a quarter of a millisecond; so a message the router has understood and decided, and
whose remaining work is quick (no action, or one marked `quick`: opening hours, help,
greetings), is finished in the request's own thread — and, since nothing of it has been
written before its answer is known, claimed in the same transaction that remembers it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from functools import partial

from sqlite_utils import Database

from bot.core import outbox, users
from bot.core.errors import BUSY
from bot.core.values import EmptyReply, Incoming, Reply, TextReply, reply_to_dict
from bot.wechat import inbox
from bot.wechat import words as messages
from bot.wechat.router import Discard, Router, log_ref
from handlers.kit.services import Services

log = logging.getLogger("guanban.pipeline")

LATE_REPLY_KIND = "late_reply"


def _answered(incoming: Incoming, db: Database, reply: Reply) -> bool:
    # False when the request held the callback meanwhile: the late path delivers this reply.
    return inbox.settle(db, incoming, reply, "answered")


class Pipeline:
    def __init__(self, services: Services, router: Router) -> None:
        self.services = services
        self.router = router
        self.budget = services.settings.reply_budget
        self.touches = users.RecentTouches()
        self.pool = ThreadPoolExecutor(
            max_workers=services.settings.handler_threads, thread_name_prefix="handler"
        )

    def answer(self, incoming: Incoming) -> Reply:
        db, now = self.services.db(), self.services.now()
        if inbox.is_claimed(db, incoming):
            # A resend (or the same callback on two workers at once): never handled twice.
            return self._resent(db, incoming)
        turn = self.router.begin(incoming)  # reads only: a duplicate may run it harmlessly
        if self.router.quick(turn):
            # Nothing slow is left to do: the hop to the pool and back would cost more than
            # the answer (about a quarter of a millisecond and ten context switches). And
            # nothing has been written yet, so the callback is claimed, the reader touched,
            # the turn remembered and the reply kept in one transaction: one commit.
            reply = self.router.finish(turn, keep=partial(self._claim_answered, incoming, now))
            if turn.kept:
                return reply
            if turn.discarded or not inbox.claim(db, incoming, now):
                return self._resent(db, incoming)  # another process answered it first
            self._touch(db, incoming, now)  # remembering itself failed: the usual way
            inbox.record_reply(db, incoming, reply, "answered")
            return reply
        if not inbox.claim(db, incoming, now):
            return self._resent(db, incoming)
        self._touch(db, incoming, now)
        # The handler keeps its reply in its own transaction unless the request has given
        # up waiting by then: `inbox.settle` lets exactly one of the two write it.
        future = self.pool.submit(self.router.finish, turn, partial(_answered, incoming))
        try:
            reply = future.result(timeout=self.budget)
        except FutureTimeout:
            holding = TextReply(messages.HOLDING)
            if inbox.settle(db, incoming, holding, "held"):
                future.add_done_callback(partial(self._deliver_late, incoming))
                return holding
            reply = future.result()  # it answered at the deadline, and kept its reply
        if not turn.kept:  # remembering failed: keep the reply the usual way
            inbox.record_reply(db, incoming, reply, "answered")
        return reply

    def _claim_answered(
        self, incoming: Incoming, now: datetime, db: Database, reply: Reply
    ) -> bool:
        if not inbox.claim(db, incoming, now, answer=reply):
            raise Discard  # the turn's writes are rolled back with it
        self._touch(db, incoming, now)
        return True

    @staticmethod
    def _resent(db: Database, incoming: Incoming) -> Reply:
        return inbox.stored_reply(db, incoming) or EmptyReply()

    def _touch(self, db: Database, incoming: Incoming, now: datetime) -> None:
        try:
            self.touches.touch(db, incoming, now)
        except Exception:
            # The reader still deserves an answer if only the bookkeeping failed.
            log.exception("could not record reader %s", self._who(incoming))

    def _deliver_late(self, incoming: Incoming, future: Future[Reply]) -> None:
        """Runs in the handler thread once a held handler finishes: queue its reply."""
        try:
            reply = future.result()
        except Exception:  # the router never raises, but a lost reply must not be silent
            log.exception("late handler failed for %s", self._who(incoming))
            reply = TextReply(BUSY)
        db = self.services.db()
        try:
            if not isinstance(reply, EmptyReply):
                outbox.enqueue(
                    db,
                    channel=incoming.channel,
                    recipient=incoming.user_id,
                    kind=LATE_REPLY_KIND,
                    payload=reply_to_dict(reply),
                    idempotency_key=f"late:{incoming.dedup_key}",
                    now=self.services.now(),
                    priority=outbox.PRIORITY_REPLY,
                )
            inbox.mark(db, incoming, "late")
        except Exception:
            # The inbound row stays 'held': the one trace of an answer that was never queued.
            log.exception("could not queue the late reply for %s", self._who(incoming))

    def _who(self, incoming: Incoming) -> str:
        return log_ref(self.router.log_secret, incoming)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
