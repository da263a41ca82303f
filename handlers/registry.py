"""Every capability the bot has, in one list. A new capability adds one line here."""

from __future__ import annotations

from handlers import crisis, feedback, greeting, hours
from handlers.kit.actions import Capability
from handlers.reservations import chat as reservations
from handlers.tickets import handoff

CAPABILITIES: tuple[Capability, ...] = (
    crisis.CAPABILITY,
    greeting.CAPABILITY,
    hours.CAPABILITY,
    feedback.CAPABILITY,
    handoff.CAPABILITY,
    reservations.CAPABILITY,
)
