"""Staff accounts and the audit log (admins only): pages and API."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_smorest import Blueprint as ApiBlueprint

from bot.core import staff
from handlers.kit import console_auth as auth
from handlers.kit.console import NavItem, Plugin
from handlers.kit.console_api import PageArgs, offset, page_of, paginate
from handlers.kit.console_errors import back_to, on_refusal

pages = Blueprint("accounts", __name__)
api = ApiBlueprint("api_accounts", __name__, description="Staff accounts and the audit log (admin)")


# -- service functions shared by pages and API ---------------------------------------------------


def audit_page(limit: int, skip: int, action: str = "") -> tuple[list[dict[str, Any]], int]:
    return staff.audit_entries(auth.runtime().services.db(), limit, skip, action)


def staff_json(account: staff.Staff) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "active": account.active,
    }


# -- pages -----------------------------------------------------------------------------------


@pages.get("/")
@auth.page_access("admin")
def index() -> str:
    return render_template(
        "console/accounts.html", accounts=staff.all_staff(auth.runtime().services.db())
    )


@pages.post("/")
@auth.page_access("admin")
@on_refusal(back_to("accounts.index"))
def create() -> Response:
    services = auth.runtime().services
    account = staff.create(
        services.db(),
        request.form.get("username", ""),
        request.form.get("password", ""),
        request.form.get("role", ""),
        services.now(),
        display_name=request.form.get("display_name", ""),
    )
    auth.audit("staff.create", f"staff:{account.id}", after=staff_json(account))
    flash(f"已创建账号 {account.username}。")
    return redirect(url_for("accounts.index"))


@pages.post("/<int:staff_id>")
@auth.page_access("admin")
@on_refusal(back_to("accounts.index"))
def update(staff_id: int) -> Response:
    services = auth.runtime().services
    db = services.db()
    before = staff.get(db, staff_id)
    if before is None:
        abort(404)
    me = auth.current_staff()
    role = request.form.get("role") or None
    active = {"1": True, "0": False}.get(request.form.get("active", ""))
    if me is not None and me.id == staff_id and (active is False or (role and role != "admin")):
        flash("不能停用自己的账号或取消自己的管理员角色。", "error")
        return redirect(url_for("accounts.index"))
    staff.update(db, staff_id, role=role, active=active)
    if request.form.get("password"):
        staff.set_password(db, staff_id, request.form["password"])
    after = staff.get(db, staff_id)
    assert after is not None
    changes = staff_json(after) | ({"password": "changed"} if request.form.get("password") else {})
    auth.audit("staff.update", f"staff:{staff_id}", before=staff_json(before), after=changes)
    flash(f"已更新 {after.username}。")
    return redirect(url_for("accounts.index"))


@pages.get("/audit")
@auth.page_access("admin")
def audit_log() -> str:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = audit_page(50, (page - 1) * 50, request.args.get("action", ""))
    return render_template("console/audit.html", rows=rows, total=total, page=page, per_page=50)


# -- API -------------------------------------------------------------------------------------


class StaffSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String()
    active = ma.fields.Boolean()


class AuditSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    username = ma.fields.String()
    action = ma.fields.String()
    target = ma.fields.String()
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)
    ip = ma.fields.String()


class AuditArgs(PageArgs):
    action = ma.fields.String(load_default="", metadata={"description": "action prefix"})


StaffList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(StaffSchema))}, name="StaffList"
)
AuditPage = page_of(AuditSchema, "AuditPage")


@api.get("/staff")
@api.response(200, StaffList)
@auth.api_access("admin")
def api_staff() -> dict[str, Any]:
    """Every staff account."""
    return {"items": [staff_json(a) for a in staff.all_staff(auth.runtime().services.db())]}


@api.get("/audit")
@api.arguments(AuditArgs, location="query")
@api.response(200, AuditPage)
@auth.api_access("admin")
def api_audit(args: dict[str, Any]) -> dict[str, Any]:
    """The audit log, newest first: who did what, when, before and after."""
    limit, skip = offset(args)
    rows, total = audit_page(limit, skip, args["action"])
    return paginate(rows, total, args)


PLUGIN = Plugin(
    name="accounts",
    pages=pages,
    api=api,
    nav=(NavItem("账号", "accounts.index"), NavItem("审计日志", "accounts.audit_log")),
    roles=("admin",),
    order=60,
)
