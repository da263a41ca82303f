"""A sender process for tests: recover, then deliver until nothing is queued or sending
(`python -m tests.outbound.sender_process`, settings from LIBBOT_*)."""

from __future__ import annotations

import sys
import time

from bot.core.services import build_services
from bot.core.settings import Settings
from bot.outbound.sender import build_sender


def main() -> int:
    services = build_services(Settings.from_env())
    sender = build_sender(services)
    sender.recover()
    print("started", flush=True)
    while True:
        sender.drain_once()
        left = (
            services.db()
            .execute("SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')")
            .fetchone()[0]
        )
        if not left:
            return 0
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
