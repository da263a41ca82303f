"""How a capability adds itself to the staff console: one `Plugin` in PLUGINS.

A plugin brings its server-rendered pages (a Flask blueprint under /console/), its API
endpoints (a flask-smorest blueprint under /api/v1/, documented in the OpenAPI file from its
schemas), its navigation entries and its dashboard cards. The shell (login, layout,
dashboard, API tokens, accounts, audit log) never changes when a capability is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint

from bot.core.services import Services
from handlers.kit.actions import Capability


@dataclass(frozen=True)
class Card:
    """A dashboard card: a figure with a label, and optionally a small chart.

    `series` is a list of (label, value) for a bar chart drawn as inline SVG (no script, no
    CDN); `href` links the card to the page behind it."""

    title: str
    value: str
    note: str = ""
    series: Sequence[tuple[str, float]] = ()
    href: str = ""
    alert: bool = False


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[str, ...] = ()  # empty: every staff role


@dataclass(frozen=True)
class Plugin:
    name: str
    pages: Blueprint | None = None
    api: Any = None  # a flask_smorest.Blueprint
    nav: tuple[NavItem, ...] = ()
    cards: tuple[Callable[[Services], Sequence[Card]], ...] = ()
    roles: tuple[str, ...] = field(default=())  # who may use its pages and API (admin always)
    # The capability whose tables it reads: an app built without it has no such pages.
    needs: str = ""


def plugins() -> tuple[Plugin, ...]:
    """Every console plugin, in navigation order. A new capability adds one line here."""
    from bot.console import accounts, dashboard, readers, tokens, unrecognised
    from handlers.reservations import console as spaces
    from handlers.tickets import console as tickets

    return (
        dashboard.PLUGIN,
        tickets.PLUGIN,
        readers.PLUGIN,
        spaces.PLUGIN,
        tokens.PLUGIN,
        accounts.PLUGIN,
        unrecognised.PLUGIN,
    )


def plugins_for(capabilities: Iterable[Capability]) -> tuple[Plugin, ...]:
    """The plugins an app with these capabilities has: those that need none of them, or one
    it has."""
    names = {capability.name for capability in capabilities}
    return tuple(p for p in plugins() if not p.needs or p.needs in names)
