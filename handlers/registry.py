"""Every capability the bot has, in one list. A new capability adds one line here."""

from __future__ import annotations

from handlers import crisis, feedback, greeting, handoff, hours, reservations
from handlers.base import Capability

CAPABILITIES: tuple[Capability, ...] = (
    crisis.CAPABILITY,
    greeting.CAPABILITY,
    hours.CAPABILITY,
    feedback.CAPABILITY,
    handoff.CAPABILITY,
    reservations.CAPABILITY,
)
