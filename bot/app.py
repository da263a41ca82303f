"""The application factory, in the shape of Flask's tutorial (flaskr).

`create_app(config)` reads settings (environment, then `config` overrides), migrates the
database, builds services, router and pipeline, and registers the blueprints. Nothing of
this happens at import time.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from bot.console import init_console
from bot.console.api import error_response, is_api_request
from bot.core.clock import system_clock
from bot.core.db import migrate
from bot.core.settings import Settings
from bot.schema import all_migrations
from bot.wechat import action_server, webhook
from bot.wechat.pipeline import Pipeline
from bot.wechat.router import Parser, Router
from bot.wechat.runtime import Runtime
from handlers.kit.capability import Capability
from handlers.kit.services import build_services

MAX_BODY = 1024 * 1024  # WeChat's callbacks are a few KiB; anything over 1 MiB is refused

log = logging.getLogger("guanban.app")

SETTING_NAMES = {f.name for f in fields(Settings)}


class CookieSessionsForPeople(SecureCookieSessionInterface):
    """The signed cookie session for people (console, simulator), none for machines: WeChat's
    callbacks and Rasa's action calls never carry our cookie, yet opening and saving an empty
    session cost each of them about 0.1 ms (bench/README.md)."""

    MACHINE_PATHS = ("/wechat/", "/actions/")

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(self.MACHINE_PATHS):
            return None  # Flask then uses a null session, which is never saved
        return super().open_session(app, request)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` may hold Settings field names (e.g. "database", "demo"),
    and for tests "clock", "capabilities" and "parser"; anything else goes to app.config."""
    config = dict(config or {})
    overrides = {k: config.pop(k) for k in list(config) if k in SETTING_NAMES}
    clock = config.pop("clock", None)
    capabilities: tuple[Capability, ...] = tuple(config.pop("capabilities", None) or _default())
    parser = config.pop("parser", None)

    settings = Settings.from_env(**overrides)
    migrate(settings.database, all_migrations(capabilities))
    services = build_services(settings, clock or system_clock, capabilities)
    router = Router(services, capabilities, parser or build_parser(settings))
    runtime = Runtime(settings, services, capabilities, router, Pipeline(services, router))

    app = Flask(__name__)
    app.session_interface = CookieSessionsForPeople()
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_NAME="guanban_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        JSON_AS_ASCII=False,
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["guanban"] = runtime
    app.extensions["guanban_actions"] = action_server.build_executor(list(router.actions.values()))

    app.register_blueprint(webhook.blueprint)
    app.register_blueprint(action_server.blueprint)
    exempt = [webhook.blueprint.name, action_server.blueprint.name]
    if settings.demo:
        from bot.dev import simulator as devchat

        app.register_blueprint(devchat.blueprint)
        exempt.append(devchat.blueprint.name)
    init_console(app, exempt)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            services.databases.ping()
        except Exception as error:  # any database failure means "not healthy", reported
            log.warning("health check failed: %s", error)
            return jsonify(status="error", database=str(error)), 503
        return jsonify(status="ok", database="ok"), 200

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Response:
        return Response(f"request body over {MAX_BODY} bytes\n", 413, mimetype="text/plain")

    # Registered after the API (flask-smorest installs its own): one handler decides the
    # shape — the API's JSON error under /api/, one plain line everywhere else.
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if is_api_request():
            return error_response(error)
        if isinstance(error, CSRFError):
            return Response("表单已过期，请刷新页面后重试。\n", 400, mimetype="text/plain")
        return Response(f"{error.name}\n", error.code or 500, mimetype="text/plain")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Logged once with its traceback; the caller gets one line, never the traceback.
        log.exception("unhandled error")
        if is_api_request():
            return error_response(InternalServerError("internal error"))
        return Response("internal error\n", 500, mimetype="text/plain")

    return app


def warm_up(settings: Settings) -> None:
    """Done once in the server's master, before it forks: this module's imports (the whole
    app's, scikit-learn's most of a second among them) and the built-in intent model read
    from its cache. Every worker — at start, or one gunicorn starts in place of a dead one —
    inherits both and only builds its own app; connections, thread pools and the Rasa client
    are still made after the fork, in each worker."""
    from intents.nlu import NLU

    NLU.load(Path(settings.model_dir), labels_dir=Path(settings.labels_dir))


def build_parser(settings: Settings) -> Parser:
    """The intent layer: built in, or a Rasa server's with the built-in one behind it.
    The trained model is loaded once per process (intents.classifier), however many apps."""
    from intents.nlu import NLU

    nlu = NLU.load(
        Path(settings.model_dir),
        threshold=settings.nlu_threshold,
        labels_dir=Path(settings.labels_dir),
    )
    if not settings.nlu_url:
        return nlu.parse
    from intents.remote import RasaParser

    return RasaParser(
        settings.nlu_url,
        fallback=nlu.parse,
        timeout=settings.nlu_timeout,
        threshold=settings.nlu_threshold,
    )


def _default() -> tuple[Capability, ...]:
    from handlers.registry import CAPABILITIES

    return CAPABILITIES
