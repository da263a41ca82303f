"""How a capability takes part in the staff console: the `Plugin` it lists in its
`Capability.console`, and the words every console page uses for the core's states.

A plugin brings its server-rendered pages (a Flask blueprint under /console/<name>/), its
API endpoints (a flask-smorest blueprint under /api/v1/<name>/, documented in the OpenAPI
file from its schemas), its navigation entries and its dashboard cards. The shell (login,
layout, dashboard, API tokens, accounts, audit log) gathers them and never names one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Blueprint

    from handlers.kit.services import Services

# How the console names the core's states, in one place: every page says the same word.
CHANNELS = {"mp": "公众号", "work": "企业微信"}
OUTBOX_STATUSES = {
    "queued": "待发送",
    "sending": "发送中",
    "sent": "已发出",  # WeChat took it; whether the phone showed it, nobody can tell
    "failed": "发送失败",
    "undeliverable": "无法送达",
}


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
    # Where its menu entries and cards stand among the others (lower first).
    order: int = 50
