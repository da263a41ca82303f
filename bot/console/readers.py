"""Readers (any staff role may look; staff and admins change roles and bans): pages and API.

A reader is one row of bot.core.users: a channel (公众号 "mp" or WeCom "work") and an
openid/userid. Their roles here are their roles in chat (reader, staff, admin, counsellor),
not console accounts. The history shows what they asked of us: tickets, messages the bot did
not understand, and what we sent them (outbox, with its status) — read-only views of tables
their owners write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_smorest import Blueprint as ApiBlueprint

from bot.core import errors, outbox, users
from bot.core.clock import TZ, isoformat
from bot.core.values import CHANNELS, MP
from bot.outbound.channels import WINDOW
from handlers.kit import console as words
from handlers.kit import console_auth as auth
from handlers.kit.capability import Reader
from handlers.kit.console import NavItem, Plugin
from handlers.kit.console_api import PageArgs, offset, page_of, paginate
from handlers.kit.console_errors import back_to, on_refusal
from intents import unrecognised

pages = Blueprint("readers", __name__)
api = ApiBlueprint("api_readers", __name__, description="Readers: search, profile, roles, bans")

EDITORS = ("staff",)  # and admin, always; counsellors may look but not change
PER_PAGE = 20
HISTORY_LIMIT = 50
ROLE_LABELS = {"reader": "读者", "staff": "馆员", "admin": "管理员", "counsellor": "阅读疗法馆员"}
READER_TYPE_LABELS = {"student": "学生", "teacher": "教职工"}
UNRECOGNISED_REASONS = {"out_of_scope": "没听懂", "ambiguous": "没把握，追问了"}


class Invalid(errors.Invalid):
    """Input a staff member must correct: a Chinese sentence for pages, English for the API,
    whose `details` name the field directly (as this API always has)."""

    def __init__(self, field: str, chinese: str, english: str) -> None:
        super().__init__(chinese, english=english, field=field, details={field: [english]})


# -- service functions shared by pages and API ---------------------------------------------------


def target(channel: str, user_id: str) -> str:
    return f"reader:{channel}:{user_id}"


def load(channel: str, user_id: str) -> dict[str, Any]:
    """The reader, or a 404."""
    found = None
    if channel in CHANNELS:
        services = auth.runtime().services
        found = users.profile(services.db(), channel, user_id, services.now())
    if found is None:
        abort(404, description="no such reader")
    return found


def ban_of(user: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The reader's ban as stored (an expired one too, marked not in force)."""
    if not user.get("banned_until"):
        return None
    return {
        "until": user["banned_until"],
        "reason": user.get("ban_reason") or "",
        "in_force": bool(user.get("ban_in_force", users.ban_in_force(user, now))),
    }


def window_closes(user: dict[str, Any]) -> datetime | None:
    """When WeChat stops taking customer-service messages to this reader (公众号 only)."""
    if user["channel"] != MP:
        return None
    return datetime.fromisoformat(user["last_interaction"]) + WINDOW


def reader_json(user: dict[str, Any], now: datetime) -> dict[str, Any]:
    closes = window_closes(user)
    return {
        "channel": user["channel"],
        "user_id": user["user_id"],
        "name": user.get("name"),
        "student_no": user.get("student_no"),
        "college": user.get("college"),
        "grade": user.get("grade"),
        "reader_type": user.get("reader_type"),
        "first_seen": user["first_seen"],
        "last_interaction": user["last_interaction"],
        "window_open": None if closes is None else closes > now,
        "window_closes_at": None if closes is None else isoformat(closes),
        "subscribed": user["subscribed"],
        "roles": user["roles"],
        "ban": ban_of(user, now),
    }


def find(query: str, limit: int, skip: int) -> tuple[list[dict[str, Any]], int]:
    services = auth.runtime().services
    rows, total = users.search(services.db(), query[:100], limit, skip)
    now = services.now()
    return [reader_json(row, now) for row in rows], total


def change_roles(channel: str, user_id: str, roles: list[str]) -> dict[str, Any]:
    """Set the reader's roles in chat (audited); returns the reader afterwards."""
    db = auth.runtime().services.db()
    before = load(channel, user_id)
    unknown = sorted(set(roles) - set(users.ROLES))
    if unknown:
        raise Invalid("roles", f"没有这个角色：{'、'.join(unknown)}", f"unknown roles: {unknown}")
    if not roles:
        raise Invalid("roles", "请至少保留一个角色。", "a reader needs at least one role")
    users.set_roles(db, channel, user_id, roles)
    after = load(channel, user_id)
    if after["roles"] != before["roles"]:
        auth.audit(
            "reader.roles",
            target(channel, user_id),
            before={"roles": before["roles"]},
            after={"roles": after["roles"]},
        )
    return after


def parse_until(text: str) -> datetime:
    """A moment from a form or a script: ISO 8601, with or without an offset (then the
    library's time zone), "T" or a space between date and time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            "until", "请填写停用到的日期和时间。", "until must be an ISO 8601 date and time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


def apply_ban(channel: str, user_id: str, until: datetime, reason: str) -> dict[str, Any]:
    """Ban the reader until `until`, telling them `reason` (audited)."""
    services = auth.runtime().services
    now = services.now()
    before = load(channel, user_id)
    reason = " ".join(reason.split())
    if until <= now:
        raise Invalid("until", "停用的截止时间须晚于现在。", "until must be in the future")
    if not reason:
        raise Invalid(
            "reason", "请写明原因（读者会看到）。", "a reason is required (the reader is told)"
        )
    if len(reason) > users.MAX_BAN_REASON:
        raise Invalid(
            "reason",
            f"原因请控制在 {users.MAX_BAN_REASON} 字以内。",
            f"the reason is longer than {users.MAX_BAN_REASON} characters",
        )
    users.ban(services.db(), channel, user_id, until, reason, now)
    after = load(channel, user_id)
    auth.audit(
        "reader.ban",
        target(channel, user_id),
        before=ban_of(before, now),
        after=ban_of(after, now),
    )
    return after


def lift_ban(channel: str, user_id: str) -> tuple[dict[str, Any], bool]:
    """Lift the reader's ban (audited); also says whether there was one to lift."""
    services = auth.runtime().services
    before = load(channel, user_id)
    if not before.get("banned_until"):
        return before, False
    users.unban(services.db(), channel, user_id)
    after = load(channel, user_id)
    auth.audit(
        "reader.unban", target(channel, user_id), before=ban_of(before, services.now()), after=None
    )
    return after, True


def history(channel: str, user_id: str, limit: int = HISTORY_LIMIT) -> dict[str, Any]:
    """The reader's requests and what we sent them, newest first (`limit` of each): each
    capability's own rows (`Capability.reader_data`), what the bot did not understand and
    the messages queued for them — each asked of the module that keeps it."""
    load(channel, user_id)
    runtime = auth.runtime()
    services = runtime.services
    db = services.db()
    found: dict[str, list[dict[str, Any]]] = {"tickets": []}
    reader = Reader(channel, user_id)
    for capability in runtime.capabilities:
        if capability.reader_data is not None:
            for name, rows in capability.reader_data(services, reader).items():
                found.setdefault(name, []).extend(dict(row) for row in rows)
    found = {name: rows[:limit] for name, rows in found.items()}
    found["unrecognised"] = unrecognised.of_reader(db, channel, user_id, limit)
    found["messages"] = outbox.of_reader(db, channel, user_id, limit)
    return found


# -- pages -----------------------------------------------------------------------------------


def _to_profile(channel: str, user_id: str) -> Response:
    return redirect(url_for("readers.profile", channel=channel, user_id=user_id))


@pages.get("/")
@auth.page_access()
def index() -> str:
    query = request.args.get("q", "").strip()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = find(query, PER_PAGE, (page - 1) * PER_PAGE)
    return render_template(
        "console/readers.html",
        rows=rows,
        total=total,
        q=query,
        page=page,
        per_page=PER_PAGE,
        channels=words.CHANNELS,
        role_labels=ROLE_LABELS,
    )


@pages.get("/<channel>/<user_id>")
@auth.page_access()
def profile(channel: str, user_id: str) -> str:
    services = auth.runtime().services
    now = services.now()
    reader = reader_json(load(channel, user_id), now)
    who = auth.current_staff()
    closes = window_closes(reader)
    return render_template(
        "console/readers_profile.html",
        r=reader,
        history=history(channel, user_id),
        may_edit=who is not None and who.may(*EDITORS),
        # Tickets link to their page when the tickets plugin is there.
        ticket_pages="tickets.detail" in current_app.view_functions,
        hours_left=None if closes is None else (closes - now) / timedelta(hours=1),
        suggested_until=f"{(now + timedelta(days=7)).astimezone(TZ):%Y-%m-%dT%H:%M}",
        now_local=f"{now.astimezone(TZ):%Y-%m-%dT%H:%M}",
        roles=users.ROLES,
        max_reason=users.MAX_BAN_REASON,
        channels=words.CHANNELS,
        role_labels=ROLE_LABELS,
        reader_types=READER_TYPE_LABELS,
        reasons=UNRECOGNISED_REASONS,
        outbox_statuses=words.OUTBOX_STATUSES,
    )


@pages.post("/<channel>/<user_id>/roles")
@auth.page_access(*EDITORS)
@on_refusal(back_to("readers.profile", "channel", "user_id"))
def roles_form(channel: str, user_id: str) -> Response:
    change_roles(channel, user_id, request.form.getlist("roles"))
    flash("已更新角色。")
    return _to_profile(channel, user_id)


@pages.post("/<channel>/<user_id>/ban")
@auth.page_access(*EDITORS)
@on_refusal(back_to("readers.profile", "channel", "user_id"))
def ban_form(channel: str, user_id: str) -> Response:
    until = parse_until(request.form.get("until", ""))
    after = apply_ban(channel, user_id, until, request.form.get("reason", ""))
    shown = datetime.fromisoformat(after["banned_until"])
    flash(f"已停用该读者的服务，至 {shown:%Y-%m-%d %H:%M}。")
    return _to_profile(channel, user_id)


@pages.post("/<channel>/<user_id>/unban")
@auth.page_access(*EDITORS)
def unban_form(channel: str, user_id: str) -> Response:
    _, lifted = lift_ban(channel, user_id)
    flash("已恢复该读者的服务。" if lifted else "该读者没有被停用。", "" if lifted else "error")
    return _to_profile(channel, user_id)


# -- API -------------------------------------------------------------------------------------


class ReaderBanSchema(ma.Schema):
    until = ma.fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    reason = ma.fields.String(metadata={"description": "what the reader is told"})
    in_force = ma.fields.Boolean(metadata={"description": "false once `until` has passed"})


class ReaderSchema(ma.Schema):
    channel = ma.fields.String(metadata={"description": "mp (公众号) or work (WeCom)"})
    user_id = ma.fields.String(metadata={"description": "openid (mp) or userid (work)"})
    name = ma.fields.String(allow_none=True)
    student_no = ma.fields.String(allow_none=True)
    college = ma.fields.String(allow_none=True)
    grade = ma.fields.String(allow_none=True)
    reader_type = ma.fields.String(allow_none=True, metadata={"description": "student/teacher"})
    first_seen = ma.fields.String()
    last_interaction = ma.fields.String()
    window_open = ma.fields.Boolean(
        allow_none=True,
        metadata={"description": "公众号: may customer-service messages reach them (48 h)"},
    )
    window_closes_at = ma.fields.String(allow_none=True)
    subscribed = ma.fields.Boolean()
    roles = ma.fields.List(ma.fields.String())
    ban = ma.fields.Nested(ReaderBanSchema, allow_none=True)


class ReaderArgs(PageArgs):
    q = ma.fields.String(
        load_default="",
        metadata={"description": "start of openid/userid or student number, or part of a name"},
    )


class ReaderRolesArgs(ma.Schema):
    roles = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(users.ROLES)),
        required=True,
        validate=ma.validate.Length(min=1),
    )


class ReaderBanArgs(ma.Schema):
    until = ma.fields.AwareDateTime(
        required=True,
        default_timezone=TZ,
        metadata={"description": "ISO 8601; without an offset, Asia/Shanghai"},
    )
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=users.MAX_BAN_REASON),
        metadata={"description": "told to the reader"},
    )


class ReaderHistoryArgs(ma.Schema):
    limit = ma.fields.Integer(
        load_default=HISTORY_LIMIT, validate=ma.validate.Range(min=1, max=200)
    )


class ReaderTicketSchema(ma.Schema):
    ref = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    text = ma.fields.String()
    created_at = ma.fields.String()
    due_at = ma.fields.String()
    closed_at = ma.fields.String(allow_none=True)


class ReaderUnrecognisedSchema(ma.Schema):
    id = ma.fields.Integer()
    text = ma.fields.String()
    received_at = ma.fields.String()
    reason = ma.fields.String()
    guesses = ma.fields.List(ma.fields.String())
    chosen_intent = ma.fields.String(allow_none=True)


class ReaderMessageSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    summary = ma.fields.String()
    status = ma.fields.String()
    via = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    sent_at = ma.fields.String(allow_none=True)


class ReaderHistorySchema(ma.Schema):
    tickets = ma.fields.List(ma.fields.Nested(ReaderTicketSchema))
    unrecognised = ma.fields.List(ma.fields.Nested(ReaderUnrecognisedSchema))
    messages = ma.fields.List(ma.fields.Nested(ReaderMessageSchema))


ReaderPage = page_of(ReaderSchema, "ReaderPage")


def _now() -> datetime:
    return auth.runtime().services.now()


# The token is checked before the body is read: without one, the answer is 401, not 422.


@api.get("/")
@auth.api_access()
@api.arguments(ReaderArgs, location="query")
@api.response(200, ReaderPage)
def api_list(args: dict[str, Any]) -> dict[str, Any]:
    """Readers, the most recently active first; `q` searches ids, student numbers, names."""
    limit, skip = offset(args)
    rows, total = find(args["q"], limit, skip)
    return paginate(rows, total, args)


@api.get("/<channel>/<user_id>")
@auth.api_access()
@api.response(200, ReaderSchema)
def api_get(channel: str, user_id: str) -> dict[str, Any]:
    """One reader's profile."""
    return reader_json(load(channel, user_id), _now())


@api.patch("/<channel>/<user_id>")
@auth.api_access(*EDITORS)
@api.arguments(ReaderRolesArgs)
@api.response(200, ReaderSchema)
def api_patch(args: dict[str, Any], channel: str, user_id: str) -> dict[str, Any]:
    """Set the reader's roles in chat (staff and admin)."""
    return reader_json(change_roles(channel, user_id, args["roles"]), _now())


@api.post("/<channel>/<user_id>/ban")
@auth.api_access(*EDITORS)
@api.arguments(ReaderBanArgs)
@api.response(200, ReaderSchema)
def api_ban(args: dict[str, Any], channel: str, user_id: str) -> dict[str, Any]:
    """Ban the reader until a moment, with a reason they are told (staff and admin)."""
    return reader_json(apply_ban(channel, user_id, args["until"], args["reason"]), _now())


@api.delete("/<channel>/<user_id>/ban")
@auth.api_access(*EDITORS)
@api.response(200, ReaderSchema)
def api_unban(channel: str, user_id: str) -> dict[str, Any]:
    """Lift the reader's ban (staff and admin); lifting when there is none changes nothing."""
    after, _ = lift_ban(channel, user_id)
    return reader_json(after, _now())


@api.get("/<channel>/<user_id>/history")
@auth.api_access()
@api.arguments(ReaderHistoryArgs, location="query")
@api.response(200, ReaderHistorySchema)
def api_history(args: dict[str, Any], channel: str, user_id: str) -> dict[str, Any]:
    """The reader's tickets, not-understood messages and messages sent to them, newest first
    (`limit` of each)."""
    return history(channel, user_id, args["limit"])


PLUGIN = Plugin(
    name="readers", pages=pages, api=api, nav=(NavItem("读者", "readers.index"),), order=30
)
