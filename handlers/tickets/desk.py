"""The staff side of tickets: what the console and the API do with them (handlers.tickets.console
lists, answers, assigns, closes and reopens tickets through these functions). The tables and
the reader's side (opening a ticket, adding to it) are in handlers.tickets.store.

A reply is stored and queued in the outbox in one transaction (the sender delivers it later),
so a reply is never recorded without being queued nor queued without being recorded. Rules
the console relies on:

- Overdue means open and past `due_at`.
- The first librarian to reply to an unassigned ticket becomes its owner (首问责任制).
- A reply to a closed ticket is sent but does not reopen it: it is the librarian's own
  follow-up, not new work; reopening is a separate, explicit step.
- Reopening gives the ticket a fresh due time (never earlier than the one it had).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.core import outbox, staff
from bot.core.clock import TZ, isoformat
from bot.core.db import write_transaction
from bot.core.errors import StaffError
from bot.core.values import CHANNELS
from handlers.tickets.store import (
    CRISIS_PREFIX,
    KINDS,
    MAX_REPLY,
    REPLY_HEADER,
    REPLY_KIND,
    STATUSES,
    _add_message,
    get,
)


class TicketError(StaffError):
    """What a librarian asked cannot be done. `message` is a Chinese sentence for the console,
    `english` the same for the API, `field` the input at fault ("" for none), and `status`
    what it amounts to in HTTP: 404 (no such ticket), 409 (not in that state), 422 (input)."""

    def __init__(self, message: str, english: str, field: str = "", status: int = 422) -> None:
        super().__init__(message, english=english, field=field, status=status)


class _Unchanged:
    """An argument the caller leaves as it is (None already means "no owner")."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()
# A reply sent again with the same words by the same librarian this soon is the same reply:
# a double click or an API client's retry after a timeout must not reach the reader twice.
RESUBMIT_WINDOW = timedelta(minutes=1)


def normal_ref(ref: str) -> str:
    """A reference as stored: 「fk000012 」 is FK000012."""
    return ref.strip().upper()


def unknown(ref: str) -> TicketError:
    return TicketError(f"没有编号为 {ref} 的工单。", f"there is no ticket {ref}", "ref", 404)


def is_overdue(ticket: dict[str, Any], now: datetime) -> bool:
    return ticket["status"] == "open" and datetime.fromisoformat(ticket["due_at"]) < now


@dataclass(frozen=True)
class Filters:
    """Which tickets a list shows. `owner`: a username, "mine", "unassigned" or "" (anyone)."""

    status: str = "open"  # open / closed / all
    kind: str = ""  # feedback / handoff / "" (both)
    owner: str = ""
    overdue: bool = False
    crisis: bool = False
    q: str = ""  # a reference number, the reader's id, or words in the thread


MINE = "mine"
UNASSIGNED = "unassigned"
# Open crisis tickets first, then the other open ones by due time (most urgent first), then
# closed ones, newest closed first.
_ORDER = """
    (crisis AND status = 'open') DESC, status = 'open' DESC, crisis DESC,
    CASE WHEN status = 'open' THEN due_at END ASC, closed_at DESC, id DESC
"""
_SELECT = """
    SELECT *, (kind = 'handoff' AND substr(text, 1, :prefix_len) = :prefix) AS crisis,
              (status = 'open' AND due_at < :now) AS overdue
    FROM tickets
"""


def _where(filters: Filters, me: str) -> tuple[str, dict[str, Any]]:
    if filters.status not in (*STATUSES, "all"):
        raise TicketError(
            "状态须为 open、closed 或 all。", "status must be open, closed or all", "status"
        )
    if filters.kind and filters.kind not in KINDS:
        raise TicketError(
            "类型须为 feedback 或 handoff。", "kind must be feedback or handoff", "kind"
        )
    clauses, params = [], {}
    if filters.status != "all":
        clauses.append("status = :status")
        params["status"] = filters.status
    if filters.kind:
        clauses.append("kind = :kind")
        params["kind"] = filters.kind
    if filters.owner == UNASSIGNED:
        clauses.append("owner IS NULL")
    elif filters.owner:
        clauses.append("owner = :owner COLLATE NOCASE")
        params["owner"] = me if filters.owner == MINE else filters.owner
    if filters.overdue:
        clauses.append("overdue")
    if filters.crisis:
        clauses.append("crisis")
    q = filters.q.strip()
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            "(ref = :ref OR user_id = :q OR text LIKE :like ESCAPE '\\' OR EXISTS ("
            "SELECT 1 FROM ticket_messages m WHERE m.ticket_id = t.id "
            "AND m.text LIKE :like ESCAPE '\\'))"
        )
        params.update(ref=q.upper(), q=q, like=like)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def search(
    db: Database, filters: Filters, now: datetime, *, me: str = "", limit: int = 20, skip: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tickets `filters` choose, in the order staff work them, and the total.
    `me` is the asking librarian's username (for owner "mine")."""
    where, params = _where(filters, me)
    params |= _select_params(now)
    total = db.execute(f"SELECT count(*) FROM ({_SELECT}) AS t{where}", params).fetchone()[0]
    rows = db.query(
        f"SELECT * FROM ({_SELECT}) AS t{where} ORDER BY {_ORDER} LIMIT :limit OFFSET :skip",
        params | {"limit": limit, "skip": skip},
    )
    return [_ticket(row) for row in rows], int(total)


def _select_params(now: datetime) -> dict[str, Any]:
    """What _SELECT's derived columns (crisis, overdue) are computed with."""
    return {"prefix": CRISIS_PREFIX, "prefix_len": len(CRISIS_PREFIX), "now": isoformat(now)}


def _ticket(item: dict[str, Any]) -> dict[str, Any]:
    item["crisis"] = bool(item["crisis"])
    item["overdue"] = bool(item["overdue"])
    return item


def counts(db: Database, now: datetime) -> dict[str, int]:
    """Open, overdue and open crisis tickets: the dashboard's figures."""
    row = db.execute(
        f"SELECT count(*), coalesce(sum(overdue), 0), coalesce(sum(crisis), 0) FROM ({_SELECT}) "
        "WHERE status = 'open'",
        _select_params(now),
    ).fetchone()
    return {"open": int(row[0]), "overdue": int(row[1]), "crisis": int(row[2])}


def detail(db: Database, ref: str, now: datetime) -> dict[str, Any] | None:
    """The ticket with its thread (`messages`, oldest first); a staff reply carries
    `delivery`: its outbox status (queued, sent, undeliverable, …) and `delivery_error`."""
    row = next(
        db.query(
            f"SELECT * FROM ({_SELECT}) WHERE ref = :ref",
            _select_params(now) | {"ref": normal_ref(ref)},
        ),
        None,
    )
    if row is None:
        return None
    ticket = _ticket(row)
    messages = [
        dict(m)
        for m in db["ticket_messages"].rows_where("ticket_id = ?", [ticket["id"]], order_by="id")
    ]
    sent = {}
    if any(m["outbox_id"] for m in messages):
        sent = {o["id"]: o for o in outbox.for_recipient(db, ticket["channel"], ticket["user_id"])}
    for message in messages:
        queued = sent.get(message["outbox_id"])
        message["delivery"] = queued["status"] if queued else None
        message["delivery_error"] = queued["last_error"] if queued else None
    ticket["messages"] = messages
    return ticket


def _open_ticket(db: Database, ref: str) -> dict[str, Any]:
    ticket = get(db, normal_ref(ref))
    if ticket is None:
        raise unknown(ref)
    return ticket


def check_reply(text: str) -> str:
    """The reply as it will be sent (outer blanks trimmed), or TicketError saying why not."""
    text = text.strip()
    if not text:
        raise TicketError("回复内容不能为空。", "the reply is empty", "text")
    if len(text) > MAX_REPLY:
        raise TicketError(
            f"回复最多 {MAX_REPLY} 个字，这条有 {len(text)} 个字，请删减或分两次发送。",
            f"a reply has at most {MAX_REPLY} characters; this one has {len(text)}",
            "text",
        )
    return text


def reply(db: Database, ref: str, author: str, text: str, now: datetime) -> dict[str, Any]:
    """Store a librarian's reply and queue it for the reader; returns the stored message.

    The first librarian to answer an unassigned ticket becomes its owner. A closed ticket
    stays closed (see the module's docstring)."""
    text = check_reply(text)
    with write_transaction(db):
        ticket = _open_ticket(db, ref)
        return _reply(db, ticket, author, text, now)


def _reply(
    db: Database, ticket: dict[str, Any], author: str, text: str, now: datetime
) -> dict[str, Any]:
    if ticket["channel"] not in CHANNELS:
        raise TicketError(
            f"这张工单来自「{ticket['channel']}」渠道，回复无法送到读者的微信上。",
            f"replies cannot be delivered on channel {ticket['channel']!r}",
            "text",
        )
    last = db.execute(
        "SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id DESC LIMIT 1",
        [ticket["id"]],
    )
    row = last.fetchone()
    if row is not None:
        previous = dict(zip([c[0] for c in last.description], row, strict=True))
        if (
            previous["author"] == "staff"
            and previous["staff_username"] == author
            and previous["text"] == text
            and now - datetime.fromisoformat(previous["at"]) < RESUBMIT_WINDOW
        ):
            return previous
    stamp = isoformat(now)
    message_id = _add_message(db, ticket["id"], "staff", author, text, stamp)
    outbox_id = outbox.enqueue(
        db,
        channel=ticket["channel"],
        recipient=ticket["user_id"],
        kind=REPLY_KIND,
        payload={"type": "text", "content": REPLY_HEADER.format(ref=ticket["ref"]) + text},
        idempotency_key=f"ticket-reply:{message_id}",
        now=now,
        priority=outbox.PRIORITY_NOTICE,
    )
    db.execute("UPDATE ticket_messages SET outbox_id = ? WHERE id = ?", [outbox_id, message_id])
    db.execute(
        "UPDATE tickets SET updated_at = ?, owner = coalesce(owner, ?) WHERE id = ?",
        [stamp, author, ticket["id"]],
    )
    return dict(db["ticket_messages"].get(message_id))


def assign(
    db: Database,
    ref: str,
    now: datetime,
    *,
    owner: str | _Unchanged | None = UNCHANGED,
    due_at: datetime | _Unchanged = UNCHANGED,
) -> dict[str, Any]:
    """Give the ticket an owner (an active staff account's username; None or "": nobody)
    and/or a due time (naive: Asia/Shanghai). Returns the ticket as it now is."""
    with write_transaction(db):
        ticket = _open_ticket(db, ref)
        changes: dict[str, Any] = {}
        if not isinstance(owner, _Unchanged):
            changes["owner"] = _owner(db, owner)
        if not isinstance(due_at, _Unchanged):
            due = due_at if due_at.tzinfo else due_at.replace(tzinfo=TZ)
            stamp = isoformat(due)
            if stamp != ticket["due_at"] and due < now:
                raise TicketError(
                    "截止时间不能早于现在。", "due_at must not be in the past", "due_at"
                )
            changes["due_at"] = stamp
        if not changes:
            raise TicketError("没有要修改的内容。", "give owner and/or due_at to change", "owner")
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        db.execute(
            f"UPDATE tickets SET {assignments}, updated_at = :now WHERE id = :id",
            changes | {"now": isoformat(now), "id": ticket["id"]},
        )
        return get(db, ticket["ref"])  # type: ignore[return-value]


def _owner(db: Database, owner: str | None) -> str | None:
    owner = (owner or "").strip()
    if not owner:
        return None
    account = staff.by_username(db, owner)
    if account is None or not account.active:
        raise TicketError(
            f"没有名为 {owner} 的在用馆员账号。", f"no active staff account {owner!r}", "owner"
        )
    return account.username


def close(
    db: Database, ref: str, author: str, now: datetime, reply_text: str = ""
) -> dict[str, Any]:
    """Close an open ticket, after sending `reply_text` to the reader if there is one."""
    text = check_reply(reply_text) if reply_text.strip() else ""
    with write_transaction(db):
        ticket = _open_ticket(db, ref)
        if ticket["status"] == "closed":
            raise TicketError(
                f"工单 {ticket['ref']} 已经关闭了。",
                f"ticket {ticket['ref']} is already closed",
                status=409,
            )
        if text:
            _reply(db, ticket, author, text, now)
        db.execute(
            "UPDATE tickets SET status = 'closed', closed_at = ?, updated_at = ?, "
            "owner = coalesce(owner, ?) WHERE id = ?",
            [isoformat(now), isoformat(now), author, ticket["id"]],
        )
        return get(db, ticket["ref"])  # type: ignore[return-value]


def reopen(db: Database, ref: str, now: datetime, due_in: timedelta) -> dict[str, Any]:
    """Open a closed ticket again, due `due_in` from now (or later, if it was due later)."""
    with write_transaction(db):
        ticket = _open_ticket(db, ref)
        if ticket["status"] == "open":
            raise TicketError(
                f"工单 {ticket['ref']} 还没有关闭。",
                f"ticket {ticket['ref']} is not closed",
                status=409,
            )
        due = max(isoformat(now + due_in), ticket["due_at"])
        db.execute(
            "UPDATE tickets SET status = 'open', closed_at = NULL, updated_at = ?, due_at = ? "
            "WHERE id = ?",
            [isoformat(now), due, ticket["id"]],
        )
        return get(db, ticket["ref"])  # type: ignore[return-value]


def active_staff(db: Database) -> list[str]:
    """Usernames a ticket may be given to."""
    return [a.username for a in staff.all_staff(db) if a.active]
