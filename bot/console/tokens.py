"""API tokens: each staff member creates and revokes their own in the console."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.console import auth
from bot.console.registry import NavItem, Plugin
from bot.core import staff

pages = Blueprint("tokens", __name__)


@pages.get("/")
@auth.page_access()
def index() -> str:
    who = auth.current_staff()
    assert who is not None
    rows = staff.tokens_of(auth.runtime().services.db(), who.id)
    return render_template("console/tokens.html", tokens=rows, new_token=None)


@pages.post("/")
@auth.page_access()
def create() -> str:
    who = auth.current_staff()
    assert who is not None
    services = auth.runtime().services
    name = (request.form.get("name") or "").strip()
    token_id, token = staff.create_token(services.db(), who.id, name, services.now())
    auth.audit("api_token.create", f"api_token:{token_id}", after={"name": name or "API"})
    rows = staff.tokens_of(services.db(), who.id)
    # Shown once: only its hash is kept.
    return render_template("console/tokens.html", tokens=rows, new_token=token)


@pages.post("/<int:token_id>/revoke")
@auth.page_access()
def revoke(token_id: int) -> Response:
    who = auth.current_staff()
    assert who is not None
    services = auth.runtime().services
    if staff.revoke_token(services.db(), who.id, token_id, services.now()):
        auth.audit("api_token.revoke", f"api_token:{token_id}")
        flash("已吊销。")
    else:
        flash("没有这个令牌，或它已被吊销。", "error")
    return redirect(url_for("tokens.index"))


PLUGIN = Plugin(name="tokens", pages=pages, nav=(NavItem("API 令牌", "tokens.index"),))
