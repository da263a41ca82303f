"""Notices about bookings, sent later through the outbox, and the job that sends them.

`tick(services)` runs every minute in `python -m bot scheduler`: it settles bookings (no-shows,
overstayed 暂离, finished ones — presence.settle) and queues what readers should
hear: a reminder before the start, a warning when the check-in window is about to close, and
a notice when a booking was released. Staff cancellations and closures queue theirs in
handlers.reservations.staff.

Every notice has an idempotency key made of the booking and the kind, so a job that runs
twice, or a minute that is retried, never tells a reader the same thing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core import outbox
from bot.core.clock import isoformat
from handlers.kit.services import Services
from handlers.library.hours_text import hm
from handlers.reservations import presence, store, violations, words
from handlers.reservations.spaces import Spaces, spaces_of

log = logging.getLogger("guanban.bookings")

KIND = "booking"


def notify(
    db: Database, booking: dict[str, Any], what: str, text: str, now: datetime, tag: str = ""
) -> int | None:
    """Queue one notice to the booking's reader; a second call with the same `what` (and
    `tag`) for the same booking is a no-op. `fields` are what a template message's keywords
    take ([templates.booking.<what>] in config) when the reader is outside WeChat's 48 h."""
    start, end = store.span(booking)
    fields = {
        "ref": booking["ref"],
        "space": booking["space_id"],
        "day": f"{start.month}月{start.day}日",
        "time": f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}",
        "notice": text,
    }
    return outbox.enqueue(
        db,
        channel=booking["channel"],
        recipient=booking["user_id"],
        kind=f"{KIND}.{what}",
        payload={"type": "text", "content": text, "fields": fields},
        idempotency_key=f"booking:{booking['id']}:{what}{':' + tag if tag else ''}",
        now=now,
        priority=outbox.PRIORITY_NOTICE,
    )


def _deadline(booking: dict[str, Any], spaces: Spaces) -> datetime:
    rules = spaces.rules[booking["space_type"]]
    return store.span(booking)[0] + timedelta(minutes=rules.check_in_after)


def remind(db: Database, spaces: Spaces, now: datetime) -> int:
    """Reminders before the start, and warnings before the check-in window closes."""
    reminders = spaces.reminders
    today = now.date()
    queued = 0
    for booking in db.query(
        "SELECT * FROM bookings WHERE status = 'booked' AND day = ? ORDER BY start",
        [today.isoformat()],
    ):
        start = store.span(booking)[0]
        deadline = _deadline(booking, spaces)
        described = words.describe(booking, spaces, today)
        made = datetime.fromisoformat(booking["created_at"])
        lead = timedelta(minutes=reminders.before_start)
        # A booking made within the lead time needs no reminder: the reader just made it.
        if start - lead <= now < start and made < start - lead:
            text = words.REMINDER.format(
                booking=described,
                minutes=max(1, int((start - now).total_seconds() // 60)),
                deadline=hm(deadline.time()),
            )
            queued += notify(db, booking, "reminder", text, now) is not None
        warn_from = deadline - timedelta(minutes=reminders.check_in_warning)
        if warn_from <= now < deadline and now >= start:
            text = words.CHECK_IN_WARNING.format(booking=described, deadline=hm(deadline.time()))
            queued += notify(db, booking, "check_in_warning", text, now) is not None
    return queued


def released(services: Services, changed: dict[str, list[dict[str, Any]]]) -> None:
    """Tell readers whose booking the settling released, with their violation count."""
    db, spaces, now = services.db(), spaces_of(services), services.now()
    policy = spaces.policy
    for kind, template in (("no_show", words.NO_SHOW), ("overstay", words.OVERSTAY)):
        for booking in changed[kind]:
            reader = store.Reader(booking["channel"], booking["user_id"])
            text = template.format(
                booking=words.describe(booking, spaces, now.date()),
                deadline=hm(_deadline(booking, spaces).time()),
                minutes=presence.away_allowance(booking, spaces.rules[booking["space_type"]]),
                window=policy.window_days,
                count=violations.violations_within(db, reader, now, policy.window_days),
                limit=policy.limit,
                days=policy.suspend_days,
            )
            until = violations.suspended_until(db, spaces, reader, now)
            if until is not None:
                text += "\n" + words.SUSPENDED.format(
                    limit=policy.limit, until=f"{until.month}月{until.day}日 {until:%H:%M}"
                )
            notify(db, booking, kind, text, now)


def tick(services: Services) -> None:
    """The minute's work: settle, then tell."""
    db, now = services.db(), services.now()
    changed = presence.settle(db, spaces_of(services), now)
    released(services, changed)
    queued = remind(db, spaces_of(services), now)
    if any(changed.values()) or queued:
        log.info(
            "bookings at %s: %d no-show(s), %d overstay(s), %d finished, %d reminder(s)",
            isoformat(now),
            len(changed["no_show"]),
            len(changed["overstay"]),
            len(changed["completed"]),
            queued,
        )
