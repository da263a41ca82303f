"""The core's own timed jobs: keep tokens fresh before anyone waits for one, and keep the
outbox from growing without end."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.clock import isoformat
from bot.core.services import Services
from handlers.kit.actions import Job

log = logging.getLogger("guanban.housekeeping")

KEEP_SENT = timedelta(days=90)
# Runs every 10 minutes, so a token due within 15 is renewed before anyone needs it.
TOKEN_AHEAD = timedelta(minutes=15)


def refresh_tokens(services: Services) -> None:
    """Renew a token that expires within TOKEN_AHEAD now, so no message waits for one."""
    from bot.outbound.sender import build_apis

    for api in build_apis(services):
        if api is not None:
            api.tokens.token(api.account, ahead=TOKEN_AHEAD)


def prune_outbox(services: Services) -> None:
    """Delivered messages older than KEEP_SENT go; failed ones stay for staff to see."""
    cutoff = isoformat(services.now() - KEEP_SENT)
    db = services.db()
    removed = db.execute(
        "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ?", [cutoff]
    ).rowcount
    db.execute(
        "DELETE FROM outbox_batches WHERE created_at < ? AND id NOT IN "
        "(SELECT batch_id FROM outbox WHERE batch_id IS NOT NULL)",
        [cutoff],
    )
    log.info("pruned %d delivered message(s) older than %s", removed, cutoff)


JOBS = (
    Job("core.refresh_tokens", refresh_tokens, "interval", {"minutes": 10}),
    Job("core.prune_outbox", prune_outbox, "cron", {"hour": 3, "minute": 30}),
)
