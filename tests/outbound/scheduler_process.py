"""A scheduler process for tests: the real run_scheduler with one extra capability whose job
records which process ran it (`python -m tests.outbound.scheduler_process`, settings from
LIBBOT_*)."""

from __future__ import annotations

import os
import sys

from bot.core.clock import isoformat
from bot.core.db import migrate
from bot.core.services import Services, build_services
from bot.core.settings import Settings
from bot.outbound.scheduler import run_scheduler
from bot.schema import all_migrations
from handlers.kit.actions import Capability, Job
from handlers.registry import CAPABILITIES


def tick(services: Services) -> None:
    db = services.db()
    db.execute("CREATE TABLE IF NOT EXISTS ticks (pid INTEGER, at TEXT)")
    db.execute("INSERT INTO ticks VALUES (?, ?)", [os.getpid(), isoformat(services.now())])


TICKER = Capability(
    name="ticker", actions=(), jobs=(Job("test.tick", tick, "interval", {"seconds": 1}),)
)


def main() -> int:
    settings = Settings.from_env()
    capabilities = (*CAPABILITIES, TICKER)
    migrate(settings.database, all_migrations(capabilities))
    print("started", flush=True)
    return run_scheduler(build_services(settings), capabilities, sender_idle=0.2)


if __name__ == "__main__":
    sys.exit(main())
