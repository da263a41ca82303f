"""Every capability the bot has, in one list: the one place that names them. A new
capability adds one line here (see docs/architecture.md)."""

from __future__ import annotations

from handlers import crisis, feedback, greeting, hours
from handlers.kit.capability import Capability
from handlers.reservations.capability import CAPABILITY as RESERVATIONS
from handlers.tickets.capability import CAPABILITY as TICKETS

CAPABILITIES: tuple[Capability, ...] = (
    crisis.CAPABILITY,
    greeting.CAPABILITY,
    hours.CAPABILITY,
    feedback.CAPABILITY,
    TICKETS,
    RESERVATIONS,
)
