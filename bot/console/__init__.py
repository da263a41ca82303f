"""The staff console (/console) and JSON API (/api/v1): where librarians work.

`init_console(app)` adds CSRF protection, the shell (login, dashboard) and every plugin of
bot.console.registry. Everything here is for staff accounts only: without a login (console)
or a token (API) nothing is reachable but the login page.
"""

from __future__ import annotations

from flask import Flask, abort, request
from flask_wtf.csrf import CSRFProtect

from bot.console import shell
from bot.console.api import API_PREFIX, build_api
from bot.console.errors import init_errors
from bot.console.registry import plugins_for
from handlers.kit import console_auth as auth

csrf = CSRFProtect()


def init_console(app: Flask, exempt: list[str]) -> None:
    """Console and API; `exempt` names blueprints CSRF must leave alone (WeChat's callbacks
    and the other machine-to-machine endpoints carry their own signatures)."""
    csrf.init_app(app)
    init_errors(app)
    api = build_api(app)
    app.register_blueprint(shell.blueprint)
    for plugin in plugins_for(app.extensions["guanban"].capabilities):
        if plugin.pages is not None:
            app.register_blueprint(plugin.pages, url_prefix=f"/console/{plugin.name}")
        if plugin.api is not None:
            csrf.exempt(plugin.api)  # bearer tokens, never cookies: CSRF cannot apply
            api.register_blueprint(plugin.api, url_prefix=f"{API_PREFIX}/{plugin.name}")
    for name in exempt:
        csrf.exempt(app.blueprints[name])

    @app.before_request
    def guard_api_docs() -> None:
        # The generated document and its page are for staff too (a token or a login). The
        # blueprint is checked first: every WeChat callback passes here, and looking up the
        # staff session costs it a database query for nothing.
        if request.blueprint != "api-docs":
            return
        if auth.current_staff() is None and auth.token_staff() is None:
            abort(401)
