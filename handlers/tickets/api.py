"""What other capabilities may ask of tickets: open one, and whether a reader's crisis
hand-off is still open. Everything else about tickets stays inside handlers/tickets."""

from __future__ import annotations

from handlers.tickets.store import (
    CRISIS_PREFIX,
    FEEDBACK,
    HANDOFF,
    create,
    migrations,
    open_crisis,
)

__all__ = ["CRISIS_PREFIX", "FEEDBACK", "HANDOFF", "create", "migrations", "open_crisis"]
