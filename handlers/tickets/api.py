"""What other capabilities may ask of tickets: open one, whether a reader's crisis
hand-off is still open, and whether librarians will see a new one. Everything else about
tickets stays inside handlers/tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.tickets.store import (
    CRISIS_PREFIX,
    FEEDBACK,
    HANDOFF,
    create,
    migrations,
    open_crisis,
)

if TYPE_CHECKING:
    from handlers.kit.services import Services

# The tickets capability's name (handlers/tickets/capability.py).
NAME = "handoff"


def answered(services: Services) -> bool:
    """Whether librarians will see a ticket filed now: only the tickets capability shows
    them (its console pages). A bot built without it still files them, but may promise no
    librarian's answer."""
    return any(capability.name == NAME for capability in services.capabilities)


__all__ = [
    "CRISIS_PREFIX",
    "FEEDBACK",
    "HANDOFF",
    "NAME",
    "answered",
    "create",
    "migrations",
    "open_crisis",
]
