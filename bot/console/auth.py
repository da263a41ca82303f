"""Who is asking: a staff member logged in to the console (session), or an API token.

The console uses Flask's signed session cookie (HttpOnly, SameSite=Lax, Secure unless
LIBBOT_COOKIE_SECURE is off) holding only the account id and a per-login nonce; every request
re-reads the account, so disabling it or changing its role takes effect at once. Forms are
CSRF-protected (Flask-WTF). The API takes `Authorization: Bearer gb_…` only — never the
cookie — so no other site can make a logged-in browser call it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, redirect, request, session, url_for

from bot.core import staff
from bot.core.staff import Staff
from bot.wechat.runtime import Runtime


def runtime() -> Runtime:
    from flask import current_app

    return current_app.extensions["guanban"]  # type: ignore[no-any-return]


def current_staff() -> Staff | None:
    """The logged-in account (console), looked up once per request."""
    if "staff" not in g:
        found = None
        staff_id = session.get("staff_id")
        if isinstance(staff_id, int):
            found = staff.get(runtime().services.db(), staff_id)
            if found is not None and not found.active:
                found = None
        g.staff = found
    return g.staff  # type: ignore[no-any-return]


def login(account: Staff) -> None:
    session.clear()
    session["staff_id"] = account.id
    session.permanent = True


def logout() -> None:
    session.clear()
    g.pop("staff", None)


def page_access(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A console page for logged-in staff with one of `roles` (admin always; none: any)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            who = current_staff()
            if who is None:
                return redirect(url_for("console.login", next=request.full_path))
            if not who.may(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def token_staff() -> Staff | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    services = runtime().services
    return staff.staff_for_token(services.db(), token.strip(), services.now())


def api_access(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An API endpoint for a valid token whose account has one of `roles` (admin always)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            who = token_staff()
            if who is None:
                abort(401)
            if not who.may(*roles):
                abort(403)
            g.staff = who
            return view(*args, **kwargs)

        return wrapped

    return decorate


def client_address() -> str:
    return request.remote_addr or ""


def audit(action: str, target: str, before: Any = None, after: Any = None) -> None:
    """Record what the current staff member just did."""
    who = g.get("staff") or current_staff()
    if who is None:
        return
    services = runtime().services
    staff.audit(
        services.db(),
        who,
        action,
        target,
        services.now(),
        before=before,
        after=after,
        ip=client_address(),
    )
