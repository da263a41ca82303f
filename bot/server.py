"""The production server: gunicorn, with worker processes and threads, around create_app.

Each worker builds its own app after the fork (no shared SQLite connections or thread
pools across processes); the database was migrated, the imports made and the intent model
read once in the master before the workers started (`warm_up`), so a worker is ready soon.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from bot import create_app

        return create_app()


def run_server(
    host: str,
    port: int,
    workers: int | None,
    threads: int = 4,
    warm_up: Callable[[], None] | None = None,
) -> int:
    """Serve until stopped. `warm_up` runs in the master before the workers fork (imports and
    read-only data every worker shares; nothing with a connection or a thread)."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers or multiprocessing.cpu_count() * 2 + 1,
        # gthread: a slow reader's connection must not block the whole worker.
        "worker_class": "gthread",
        "threads": threads,
        # Handlers answer within the 3.5 s budget; 30 s only ends truly stuck requests.
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        # gunicorn 27's control socket lives at one shared path in $HOME: two servers on one
        # machine (tests, the demo, a benchmark) would overwrite each other's. We use none.
        "control_socket_disable": True,
        "errorlog": "-",
    }
    if warm_up is not None:
        warm_up()
    _Gunicorn(options).run()
    return 0
