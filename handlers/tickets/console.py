"""Tickets (feedback FK… and hand-offs RG…) answered by librarians (首问责任制): pages and API.

Any staff role works tickets. The rules (overdue, who owns a ticket, what a reply to a closed
ticket does) live in handlers/tickets/desk.py; this module only turns requests into its calls,
records each change in the audit log and shows the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_smorest import Blueprint as ApiBlueprint

from bot.core.errors import StaffError
from handlers.kit import console as words
from handlers.kit import console_auth as auth
from handlers.kit.console import Card, NavItem, Plugin
from handlers.kit.console_api import PageArgs, offset, page_of, paginate
from handlers.kit.console_errors import Recover, back_to, on_refusal
from handlers.kit.services import Services
from handlers.tickets import desk as tickets
from handlers.tickets import store
from handlers.tickets import words as ticket_words
from handlers.tickets.desk import UNCHANGED, Filters

pages = Blueprint("tickets", __name__, template_folder="templates")
api = ApiBlueprint(
    "api_tickets", __name__, description="Feedback and hand-off tickets answered by librarians"
)

PER_PAGE = 30


# -- service functions shared by pages and API ---------------------------------------------------


def _services() -> Services:
    return auth.runtime().services


def me() -> str:
    who = g.get("staff") or auth.current_staff()
    return who.username if who is not None else ""


def answer_within(services: Services) -> timedelta:
    """How long a reopened ticket has: the library's promise to readers (config [handoff])."""
    hours = services.library.get("handoff", {}).get("answer_within_hours", 24)
    return timedelta(hours=int(hours))


def snapshot(ticket: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a ticket before and after a change."""
    return {"status": ticket["status"], "owner": ticket["owner"], "due_at": ticket["due_at"]}


def load(ref: str) -> dict[str, Any]:
    """The ticket with its thread; TicketError (404) for an unknown reference."""
    services = _services()
    ticket = tickets.detail(services.db(), ref, services.now())
    if ticket is None:
        raise tickets.unknown(ref)
    return ticket


def list_tickets(filters: Filters, limit: int, skip: int) -> tuple[list[dict[str, Any]], int]:
    services = _services()
    return tickets.search(services.db(), filters, services.now(), me=me(), limit=limit, skip=skip)


def send_reply(ref: str, text: str) -> dict[str, Any]:
    services = _services()
    before = load(ref)
    message = tickets.reply(services.db(), before["ref"], me(), text, services.now())
    after = load(ref)
    auth.audit(
        "ticket.reply",
        f"ticket:{before['ref']}",
        before=snapshot(before),
        after=snapshot(after) | {"message_id": message["id"], "reply": message["text"]},
    )
    return after


def close_ticket(ref: str, text: str) -> dict[str, Any]:
    services = _services()
    before = load(ref)
    tickets.close(services.db(), before["ref"], me(), services.now(), reply_text=text)
    after = load(ref)
    changes = snapshot(after)
    if text.strip():
        changes["reply"] = after["messages"][-1]["text"]
    auth.audit("ticket.close", f"ticket:{before['ref']}", before=snapshot(before), after=changes)
    return after


def reopen_ticket(ref: str) -> dict[str, Any]:
    services = _services()
    before = load(ref)
    tickets.reopen(services.db(), before["ref"], services.now(), answer_within(services))
    after = load(ref)
    auth.audit("ticket.reopen", f"ticket:{before['ref']}", snapshot(before), snapshot(after))
    return after


def assign_ticket(ref: str, owner: Any = UNCHANGED, due_at: Any = UNCHANGED) -> dict[str, Any]:
    services = _services()
    before = load(ref)
    tickets.assign(services.db(), before["ref"], services.now(), owner=owner, due_at=due_at)
    after = load(ref)
    auth.audit("ticket.assign", f"ticket:{before['ref']}", snapshot(before), snapshot(after))
    return after


def span(delta: timedelta) -> str:
    """A duration as staff read it: 2 天 3 小时, 3 小时 5 分钟, 12 分钟."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    return f"{minutes} 分钟" if minutes else "不到 1 分钟"


def overdue_by(ticket: dict[str, Any], now: datetime) -> str:
    return span(now - datetime.fromisoformat(ticket["due_at"]))


def due_in(ticket: dict[str, Any], now: datetime) -> str:
    return span(datetime.fromisoformat(ticket["due_at"]) - now)


def when(stamp: str | None) -> str:
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M") if stamp else ""


def cards(services: Services) -> list[Card]:
    figures = tickets.counts(services.db(), services.now())
    found = []
    if figures["crisis"]:
        found.append(
            Card(
                "危机信号工单",
                str(figures["crisis"]),
                note="读者可能有危险，请立即联系",
                href=url_for("tickets.index", crisis=1),
                alert=True,
            )
        )
    overdue = figures["overdue"]
    if not figures["open"]:
        note = "没有待处理的工单"
    else:
        note = f"其中 {overdue} 件已超时" if overdue else "均未超时"
    found.append(
        Card(
            "待处理工单",
            str(figures["open"]),
            note=note,
            href=url_for("tickets.index", overdue=1) if overdue else url_for("tickets.index"),
            alert=overdue > 0,
        )
    )
    return found


# -- pages -----------------------------------------------------------------------------------


def _flag(name: str) -> bool:
    return request.args.get(name, "") in ("1", "on", "true")


def _page_filters() -> Filters:
    return Filters(
        status=request.args.get("status", "open"),
        kind=request.args.get("kind", ""),
        owner=request.args.get("owner", ""),
        overdue=_flag("overdue"),
        crisis=_flag("crisis"),
        q=request.args.get("q", "")[:100],
    )


def _render_list(filters: Filters, page: int, status: int = 200) -> tuple[str, int]:
    rows, total = list_tickets(filters, PER_PAGE, (page - 1) * PER_PAGE)
    services = _services()
    return render_template(
        "console/tickets.html",
        rows=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        filters=filters,
        staff_names=tickets.active_staff(services.db()),
        page_url=lambda n: url_for("tickets.index", **(request.args.to_dict() | {"page": n})),
        now=services.now(),
        kinds=ticket_words.TICKET_KINDS,
        statuses=ticket_words.TICKET_STATUSES,
        overdue_by=overdue_by,
        due_in=due_in,
        when=when,
    ), status


def _every_open_ticket(*_: Any) -> tuple[str, int]:
    """A filter the list cannot apply: the default list, saying so."""
    return _render_list(Filters(), 1, 422)


@pages.get("/")
@auth.page_access()
@on_refusal(_every_open_ticket)
def index() -> tuple[str, int]:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    return _render_list(_page_filters(), page)


def _render_detail(ticket: dict[str, Any], draft: str = "", status: int = 200) -> tuple[str, int]:
    services = _services()
    due = datetime.fromisoformat(ticket["due_at"])
    return render_template(
        "console/tickets_detail.html",
        t=ticket,
        draft=draft,
        staff_names=tickets.active_staff(services.db()),
        due_value=due.strftime("%Y-%m-%dT%H:%M"),
        now=services.now(),
        kinds=ticket_words.TICKET_KINDS,
        statuses=ticket_words.TICKET_STATUSES,
        channels=words.CHANNELS,
        deliveries=words.OUTBOX_STATUSES,
        max_reply=store.MAX_REPLY,
        overdue_by=overdue_by,
        due_in=due_in,
        when=when,
    ), status


def _missing(*_: Any, **__: Any) -> tuple[str, int]:
    """An unknown reference (a mistyped address, an old link): the list, saying so."""
    return _render_list(Filters(), 1, 404)


def _or_missing(then: Recover) -> Recover:
    """A ticket page's recovery: the list for an unknown ticket, else `then`."""

    def recover(error: StaffError, ref: str) -> Any:
        return _missing() if error.status == 404 else then(error, ref=ref)

    return recover


def _detail_again(error: StaffError, ref: str) -> tuple[str, int]:
    """The ticket again, with the words as they were typed (too long, a closed ticket)."""
    return _render_detail(load(ref), draft=request.form.get("text", ""), status=error.status)


def _to_detail(_: StaffError, ref: str) -> Any:
    return redirect(url_for("tickets.detail", ref=tickets.normal_ref(ref)))


@pages.get("/<ref>")
@auth.page_access()
@on_refusal(_missing)
def detail(ref: str) -> tuple[str, int]:
    return _render_detail(load(ref))


@pages.post("/<ref>/reply")
@auth.page_access()
@on_refusal(_or_missing(_detail_again))
def reply(ref: str) -> Any:
    ticket = send_reply(ref, request.form.get("text", ""))
    flash("回复已保存，正在发送给读者。")
    return redirect(url_for("tickets.detail", ref=ticket["ref"]))


@pages.post("/<ref>/close")
@auth.page_access()
@on_refusal(_or_missing(_detail_again))
def close(ref: str) -> Any:
    text = request.form.get("text", "")
    ticket = close_ticket(ref, text)
    flash("工单已关闭，回复正在发送给读者。" if text.strip() else "工单已关闭。")
    return redirect(url_for("tickets.detail", ref=ticket["ref"]))


@pages.post("/<ref>/reopen")
@auth.page_access()
@on_refusal(_or_missing(back_to("tickets.detail", "ref")))
def reopen(ref: str) -> Any:
    ticket = reopen_ticket(ref)
    flash(f"工单已重新打开，截止时间 {when(ticket['due_at'])}。")
    return redirect(url_for("tickets.detail", ref=ticket["ref"]))


@pages.post("/<ref>/assign")
@auth.page_access()
@on_refusal(_or_missing(_to_detail))
def assign(ref: str) -> Any:
    ticket = load(ref)
    owner: Any = UNCHANGED
    due: Any = UNCHANGED
    chosen = request.form.get("owner", "").strip() or None
    if chosen != ticket["owner"]:
        owner = chosen
    raw_due = request.form.get("due_at", "").strip()
    current = datetime.fromisoformat(ticket["due_at"]).strftime("%Y-%m-%dT%H:%M")
    if raw_due and raw_due != current:
        try:
            due = datetime.fromisoformat(raw_due)
        except ValueError:
            flash("截止时间的格式不对，请用日期时间选择器填写。", "error")
            return redirect(url_for("tickets.detail", ref=ticket["ref"]))
    if owner is UNCHANGED and due is UNCHANGED:
        flash("没有修改。")
        return redirect(url_for("tickets.detail", ref=ticket["ref"]))
    after = assign_ticket(ref, owner=owner, due_at=due)
    flash(f"已保存：负责人 {after['owner'] or '未分配'}，截止 {when(after['due_at'])}。")
    return redirect(url_for("tickets.detail", ref=ticket["ref"]))


# -- API -------------------------------------------------------------------------------------


class TicketSchema(ma.Schema):
    ref = ma.fields.String(metadata={"description": "FK… (feedback) or RG… (hand-off)"})
    kind = ma.fields.String(metadata={"description": "feedback or handoff"})
    channel = ma.fields.String(metadata={"description": "mp (公众号) or work (WeCom)"})
    user_id = ma.fields.String(metadata={"description": "the reader's openid / userid"})
    text = ma.fields.String(metadata={"description": "everything the reader wrote"})
    status = ma.fields.String(metadata={"description": "open or closed"})
    owner = ma.fields.String(allow_none=True, metadata={"description": "staff username"})
    created_at = ma.fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    updated_at = ma.fields.String()
    due_at = ma.fields.String()
    closed_at = ma.fields.String(allow_none=True)
    crisis = ma.fields.Boolean(metadata={"description": "an urgent crisis hand-off"})
    overdue = ma.fields.Boolean(metadata={"description": "open and past due_at"})


class TicketMessageSchema(ma.Schema):
    id = ma.fields.Integer()
    author = ma.fields.String(metadata={"description": "reader or staff"})
    staff_username = ma.fields.String(allow_none=True)
    text = ma.fields.String()
    at = ma.fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    delivery = ma.fields.String(
        allow_none=True,
        metadata={"description": "a staff reply's outbox status: queued, sent, undeliverable…"},
    )
    delivery_error = ma.fields.String(allow_none=True)


class TicketDetailSchema(TicketSchema):
    messages = ma.fields.List(ma.fields.Nested(TicketMessageSchema))


class TicketListArgs(PageArgs):
    status = ma.fields.String(
        load_default="open", validate=ma.validate.OneOf(("open", "closed", "all"))
    )
    kind = ma.fields.String(
        validate=ma.validate.OneOf(store.KINDS), metadata={"description": "omit for both"}
    )
    owner = ma.fields.String(
        load_default="",
        metadata={"description": 'a staff username, "mine" or "unassigned"; empty: anyone'},
    )
    overdue = ma.fields.Boolean(load_default=False, metadata={"description": "only overdue"})
    crisis = ma.fields.Boolean(load_default=False, metadata={"description": "only crisis"})
    q = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=100),
        metadata={"description": "a reference number, the reader's id, or words in the thread"},
    )


class TicketReplyArgs(ma.Schema):
    text = ma.fields.String(
        required=True, metadata={"description": f"1–{store.MAX_REPLY} characters"}
    )


class TicketCloseArgs(ma.Schema):
    reply = ma.fields.String(
        load_default="", metadata={"description": "a last reply sent to the reader first"}
    )


class TicketAssignArgs(ma.Schema):
    owner = ma.fields.String(
        allow_none=True, metadata={"description": "an active staff username; null: nobody"}
    )
    due_at = ma.fields.DateTime(
        metadata={"description": "ISO 8601; without an offset, Asia/Shanghai"}
    )


TicketPage = page_of(TicketSchema, "TicketPage")


@api.get("/")
@auth.api_access()
@api.arguments(TicketListArgs, location="query")
@api.response(200, TicketPage)
def api_list(args: dict[str, Any]) -> dict[str, Any]:
    """Tickets, crisis and most urgent first; filters as query arguments."""
    limit, skip = offset(args)
    filters = Filters(
        status=args["status"],
        kind=args.get("kind", ""),
        owner=args["owner"],
        overdue=args["overdue"],
        crisis=args["crisis"],
        q=args["q"],
    )
    rows, total = list_tickets(filters, limit, skip)
    return paginate(rows, total, args)


@api.get("/<ref>")
@auth.api_access()
@api.response(200, TicketDetailSchema)
def api_detail(ref: str) -> dict[str, Any]:
    """One ticket with its thread: the reader's words and every staff reply."""
    return load(ref)


@api.post("/<ref>/reply")
@auth.api_access()
@api.arguments(TicketReplyArgs)
@api.response(200, TicketDetailSchema)
def api_reply(args: dict[str, Any], ref: str) -> dict[str, Any]:
    """Reply to the reader (queued for sending). A reply to a closed ticket is sent and the
    ticket stays closed; the first to reply to an unassigned ticket becomes its owner."""
    return send_reply(ref, args["text"])


@api.post("/<ref>/close")
@auth.api_access()
@api.arguments(TicketCloseArgs)
@api.response(200, TicketDetailSchema)
def api_close(args: dict[str, Any], ref: str) -> dict[str, Any]:
    """Close the ticket, sending `reply` to the reader first when given."""
    return close_ticket(ref, args["reply"])


@api.post("/<ref>/reopen")
@auth.api_access()
@api.response(200, TicketDetailSchema)
def api_reopen(ref: str) -> dict[str, Any]:
    """Open a closed ticket again, due within the library's answer time from now."""
    return reopen_ticket(ref)


@api.route("/<ref>", methods=["PATCH"])
@auth.api_access()
@api.arguments(TicketAssignArgs)
@api.response(200, TicketDetailSchema)
def api_assign(args: dict[str, Any], ref: str) -> dict[str, Any]:
    """Set the owner (an active staff username, or null) and/or the due time."""
    return assign_ticket(
        ref, owner=args.get("owner", UNCHANGED), due_at=args.get("due_at", UNCHANGED)
    )


PLUGIN = Plugin(
    name="tickets",
    pages=pages,
    api=api,
    nav=(NavItem("工单", "tickets.index"),),
    cards=(cards,),
    order=20,
)
