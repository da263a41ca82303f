"""The core's own timed jobs: keep tokens fresh before anyone waits for one, and keep the
outbox and every capability's tables from growing without end.

Housekeeping deletes no rows itself: each table's owner prunes its own (`outbox.prune`, a
capability's `prune` hook), so what may go stays decided where the table is declared."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core import outbox
from bot.core.clock import isoformat
from handlers.kit.capability import Job
from handlers.kit.services import Services

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
    cutoff = services.now() - KEEP_SENT
    removed = outbox.prune(services.db(), cutoff)
    log.info("pruned %d delivered message(s) older than %s", removed, isoformat(cutoff))


def prune_capabilities(services: Services) -> None:
    """Ask every capability with a `prune` hook to delete its rows no longer needed. One
    that fails is logged and the others still run: a bug in one must not let the rest grow."""
    for capability in services.capabilities:
        if capability.prune is None:
            continue
        try:
            removed = capability.prune(services)
        except Exception:  # any failure of one capability's own code; logged, never hidden
            log.exception("pruning %s failed", capability.name)
            continue
        log.info("pruned %d row(s) of %s", removed, capability.name)


JOBS = (
    Job("core.refresh_tokens", refresh_tokens, "interval", {"minutes": 10}),
    Job("core.prune_outbox", prune_outbox, "cron", {"hour": 3, "minute": 30}),
    Job("core.prune_capabilities", prune_capabilities, "cron", {"hour": 3, "minute": 45}),
)
