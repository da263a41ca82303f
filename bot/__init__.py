"""Guanban's core: the WeChat/WeCom transport, the router and the app factory.

Importing this package is cheap and has no side effects; Flask and wechatpy are imported
only by the modules that speak the transport (bot.app, bot.wechat.protocol,
bot.wechat.webhook, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application (see bot.app.create_app)."""
    from bot.app import create_app as _create_app

    return _create_app(config)
