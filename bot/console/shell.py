"""The console's shell: log in and out, the layout, and the dashboard of every plugin's cards."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.console import auth
from bot.console.registry import Card, NavItem, plugins_for
from bot.core import staff

blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="../templates")

LOCKED = "登录失败次数过多，请于 {until} 后再试。"
WRONG = "用户名或密码不正确。"


@blueprint.app_context_processor
def layout() -> dict[str, Any]:
    """What every console page's layout needs: who is logged in and the menu they may see."""
    who = auth.current_staff()
    nav: list[NavItem] = []
    if who is not None:
        for plugin in plugins_for(auth.runtime().capabilities):
            nav += [n for n in plugin.nav if who.may(*(n.roles or plugin.roles))]
    return {"me": who, "nav": nav}


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("console.dashboard")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    services = auth.runtime().services
    db, now = services.db(), services.now()
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    keys = [f"user:{username.lower()}", f"addr:{auth.client_address()}"]
    until = staff.locked_until(db, keys, now)
    if until is not None:
        flash(LOCKED.format(until=f"{until:%H:%M}"), "error")
        return render_template("console/login.html", next=request.form.get("next", "")), 429
    account = staff.authenticate(db, username, password, now)
    if account is None:
        staff.record_failure(db, keys, now)
        flash(WRONG, "error")
        return render_template("console/login.html", next=request.form.get("next", "")), 401
    staff.clear_failures(db, keys)
    auth.login(account)
    staff.audit(db, account, "login", f"staff:{account.id}", now, ip=auth.client_address())
    return redirect(_safe_next(request.form.get("next")))


@blueprint.post("/logout")
def logout() -> Response:
    auth.audit("logout", "")
    auth.logout()
    return redirect(url_for("console.login"))


@blueprint.get("/")
@auth.page_access()
def dashboard() -> str:
    services = auth.runtime().services
    who = auth.current_staff()
    cards: list[Card] = []
    for plugin in plugins_for(auth.runtime().capabilities):
        if who is not None and who.may(*plugin.roles):
            for make in plugin.cards:
                cards.extend(make(services))
    return render_template("console/dashboard.html", cards=cards)
