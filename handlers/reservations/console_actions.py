"""What the space-reservation pages and API both do: load, cancel, close, lift, waive.

Each change goes through handlers.reservations.staff (which owns the rules and tells readers) and
is recorded in the audit log with what it was before and after. Bad input is refused here
with a sentence a librarian can act on (Chinese, for pages) and its English twin and field
(for the API), before anything is changed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import g

from bot.core.clock import TZ
from bot.core.errors import StaffError
from handlers.kit import console_auth as auth
from handlers.kit.services import Services
from handlers.reservations import reports as space_reports
from handlers.reservations import staff as space_staff
from handlers.reservations.spaces import spaces_of
from handlers.reservations.store import BookingError

MAX_REASON = space_staff.MAX_REASON


class Refused(StaffError):
    """A change or a lookup staff must correct: `chinese` for the page (its `message`),
    `english` and `field` for the API, `status` for both (404 unknown, 409 not now, 422 bad
    input). bot.console.errors answers it; no page or endpoint catches it."""

    def __init__(self, status: int, field: str, chinese: str, english: str) -> None:
        super().__init__(chinese, english=english, status=status, field=field)


def services() -> Services:
    return auth.runtime().services


def by() -> str:
    """The member of staff, as bookings record them."""
    who = g.get("staff") or auth.current_staff()
    return f"staff:{who.username}" if who is not None else "staff:"


def _refused(error: BookingError, field: str = "") -> Refused:
    """A BookingError from handlers.reservations.staff as staff read it (its own message speaks
    to readers)."""
    known = {
        "not_found": (404, "", "没有找到这个预约。", "no such booking"),
        "not_cancellable": (
            409,
            "",
            "这个预约已经开始使用或已经结束，不能取消了。",
            "only a booking not yet begun can be cancelled",
        ),
        "reason_required": (
            422,
            "reason",
            "请写明原因（读者会收到）。",
            "a reason is required (the reader is told)",
        ),
        "unknown_space": (422, "space_id", "没有这个空间编号，请核对。", "no such space"),
        "bad_period": (
            422,
            "ends_at",
            "结束时间须晚于开始时间，且晚于现在。",
            "ends_at must be after starts_at and in the future",
        ),
    }
    status, where, chinese, english = known.get(
        error.reason, (422, field, error.message, error.reason)
    )
    return Refused(status, where or field, chinese, english)


def reason_of(text: str, told: bool = True) -> str:
    """The reason, on one line; `told`: the reader receives it (a cancellation, a closure)."""
    reason = " ".join((text or "").split())
    if not reason and told:
        raise Refused(
            422, "reason", "请写明原因（读者会收到）。", "a reason is required (the reader is told)"
        )
    if not reason:
        raise Refused(422, "reason", "请写明免除的原因。", "a reason is required")
    if len(reason) > MAX_REASON:
        raise Refused(
            422,
            "reason",
            f"原因请控制在 {MAX_REASON} 字以内。",
            f"the reason is longer than {MAX_REASON} characters",
        )
    return reason


def moment(text: str, field: str, label: str) -> datetime:
    """A date and time from a form (datetime-local) or a script: ISO 8601, in the library's
    time zone unless an offset is given."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Refused(
            422,
            field,
            f"请填写{label}（日期和时间）。",
            f"{field} must be an ISO 8601 date and time",
        ) from None
    return value.astimezone(TZ) if value.tzinfo else value.replace(tzinfo=TZ)


def day_of(text: str, field: str, label: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(
            422, field, f"{label}的格式不对，请用日期选择器填写。", f"{field} must be YYYY-MM-DD"
        ) from None


# -- bookings -------------------------------------------------------------------------------------


def booking_snapshot(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": row["status"],
        "cancel_reason": row["cancel_reason"],
        "cancelled_by": row["cancelled_by"],
    }


def load_booking(ref: str) -> dict[str, Any]:
    found = space_reports.booking(services().db(), ref)
    if found is None:
        raise Refused(404, "", f"没有找到预约 {ref}。", "no such booking")
    return found


def cancel_booking(ref: str, reason: str) -> dict[str, Any]:
    """Cancel the booking and tell its reader why (audited); the booking afterwards."""
    before = load_booking(ref)
    reason = reason_of(reason)
    if before["status"] != "booked":
        raise _refused(BookingError("", "not_cancellable"))
    try:
        space_staff.cancel_booking(services(), before["id"], by(), reason)
    except BookingError as error:
        raise _refused(error) from None
    after = load_booking(ref)
    auth.audit(
        "booking.cancel",
        f"booking:{before['ref']}",
        before=booking_snapshot(before),
        after=booking_snapshot(after),
    )
    return after


# -- closures -------------------------------------------------------------------------------------


def close_space(space_id: str, starts: datetime, ends: datetime, reason: str) -> dict[str, Any]:
    """Close a space for [starts, ends) (audited): {"closure", "affected"} — the bookings
    it hit, whose readers are told (with alternatives when theirs was cancelled)."""
    found = spaces_of(services()).get(space_id.strip()) if space_id.strip() else None
    if found is None:
        if not space_id.strip():
            raise Refused(422, "space_id", "请填写空间编号。", "space_id is required")
        raise Refused(
            422, "space_id", f"没有编号为 {space_id.strip()} 的空间，请核对。", "no such space"
        )
    if ends <= starts:
        raise Refused(422, "ends_at", "结束时间须晚于开始时间。", "ends_at must be after starts_at")
    if ends <= services().now():
        raise Refused(
            422, "ends_at", "结束时间已经过去了，请检查日期。", "ends_at must be in the future"
        )
    reason = reason_of(reason)
    try:
        result = space_staff.close_space(services(), found.id, starts, ends, reason, by())
    except BookingError as error:
        raise _refused(error) from None
    closure = result["closure"]
    auth.audit(
        "space.close",
        f"space:{found.id}",
        before=None,
        after={
            "closure_id": closure["id"],
            "starts_at": closure["starts_at"],
            "ends_at": closure["ends_at"],
            "reason": closure["reason"],
            "affected": [b["ref"] for b in result["affected"]],
        },
    )
    return result


def closure_snapshot(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "space_id": row["space_id"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "lifted_at": row["lifted_at"],
    }


def load_closure(closure_id: int) -> dict[str, Any]:
    found = space_reports.closure(services().db(), closure_id)
    if found is None:
        raise Refused(404, "", f"没有编号为 {closure_id} 的暂停开放记录。", "no such closure")
    return found


def lift_closure(closure_id: int) -> dict[str, Any]:
    """End a closure now (audited); refused when it was lifted or is over already."""
    before = load_closure(closure_id)
    if not space_staff.lift_closure(services(), closure_id, by()):
        raise Refused(
            409,
            "",
            "这条暂停开放已经解除或已经结束了。",
            "the closure was lifted already or is over",
        )
    after = load_closure(closure_id)
    auth.audit(
        "space.lift",
        f"closure:{closure_id}",
        before=closure_snapshot(before),
        after=closure_snapshot(after),
    )
    return after


# -- violations -----------------------------------------------------------------------------------


def violation_snapshot(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "waived_at": row["waived_at"],
        "waived_by": row["waived_by"],
        "waive_reason": row["waive_reason"],
    }


def load_violation(violation_id: int) -> dict[str, Any]:
    found = space_reports.violation(services().db(), violation_id)
    if found is None:
        raise Refused(404, "", f"没有编号为 {violation_id} 的违约记录。", "no such violation")
    return found


def waive_violation(violation_id: int, reason: str) -> dict[str, Any]:
    """Waive a violation with a reason (audited); it no longer counts towards suspension."""
    before = load_violation(violation_id)
    reason = reason_of(reason, told=False)
    if before["waived_at"]:
        raise Refused(409, "", "这条违约已经免除过了。", "the violation was waived already")
    try:
        waived = space_staff.waive_violation(services(), violation_id, by(), reason)
    except BookingError as error:
        raise _refused(error) from None
    if not waived:
        raise Refused(409, "", "这条违约已经免除过了。", "the violation was waived already")
    after = load_violation(violation_id)
    auth.audit(
        "violation.waive",
        f"violation:{violation_id}",
        before=violation_snapshot(before),
        after=violation_snapshot(after),
    )
    return after
