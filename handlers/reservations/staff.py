"""What staff do to bookings, with the notices that go with it.

The console's pages and API call these (bot/console/spaces.py), never the tables: cancelling
a booking tells its reader why; closing a space for a period cancels the bookings it hits and
offers each reader the nearest alternatives; a violation is waived only with a reason.
`by` names the member of staff ("staff:<username>") for the booking's record.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from handlers.kit.services import Services
from handlers.reservations import availability, bookings, store, violations, words
from handlers.reservations import closures as space_closures
from handlers.reservations.notices import notify
from handlers.reservations.spaces import spaces_of
from handlers.reservations.store import BookingError, Wish

MAX_REASON = 200


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise BookingError("请写明原因，读者会收到它。", "reason_required")
    return reason[:MAX_REASON]


def cancel_booking(services: Services, booking_id: int, by: str, reason: str) -> dict[str, Any]:
    """Cancel a booking not yet begun; its reader is told why."""
    reason = _reason(reason)
    db, now = services.db(), services.now()
    booking = store.get(db, booking_id)
    if booking is None:
        raise BookingError(f"没有编号为 {booking_id} 的预约。", "not_found")
    cancelled = bookings.cancel(db, booking, by, reason, now)
    text = words.STAFF_CANCELLED.format(
        booking=words.describe(booking, spaces_of(services), now.date()), reason=reason
    )
    notify(db, booking, "staff_cancelled", text, now)
    return cancelled


def close_space(
    services: Services, space_id: str, starts: datetime, ends: datetime, reason: str, by: str
) -> dict[str, Any]:
    """Close a space for [starts, ends); returns {"closure", "affected"}. Each affected reader
    is told, with up to three alternatives at the same time."""
    reason = _reason(reason)
    db, now, spaces = services.db(), services.now(), spaces_of(services)
    space = spaces.get(space_id)
    if space is None:
        raise BookingError(f"没有编号为 {space_id} 的空间。", "unknown_space")
    if ends <= starts:
        raise BookingError("结束时间要晚于开始时间。", "bad_period")
    if ends <= now:
        raise BookingError("这段时间已经过去了。", "bad_period")
    closure, affected = space_closures.add_closure(db, space.id, starts, ends, reason, by, now)
    period = _period(starts, ends)
    for booking in affected:
        described = words.describe(booking, spaces, now.date())
        if booking["status"] == "booked":
            text = words.CLOSED.format(
                space=space.name, period=period, reason=reason, booking=described
            )
            text += "\n" + _offers(services, booking)
        else:
            text = words.CLOSED_IN_USE.format(
                space=space.name, period=period, reason=reason, booking=described
            )
        notify(db, booking, "closed", text, now, tag=str(closure["id"]))
    return {"closure": closure, "affected": affected}


def _period(starts: datetime, ends: datetime) -> str:
    if starts.date() == ends.date():
        return f"{starts.month}月{starts.day}日 {starts:%H:%M}–{ends:%H:%M}"
    return (
        f"{starts.month}月{starts.day}日 {starts:%H:%M} 至 {ends.month}月{ends.day}日 {ends:%H:%M}"
    )


def _offers(services: Services, booking: dict[str, Any]) -> str:
    """The nearest alternatives for a cancelled booking, as lines a reader can send back."""
    wish = Wish(
        space_type=booking["space_type"],
        day=date.fromisoformat(booking["day"]),
        start=time.fromisoformat(booking["start"]),
        end=time.fromisoformat(booking["end"]),
        party_size=int(booking["party_size"]),
    )
    found = availability.alternatives(services.db(), spaces_of(services), services.calendar, wish)
    if not found:
        return words.CLOSED_NO_OFFERS
    lines = [words.offer_request(option) for option in found]
    return words.CLOSED_OFFERS.format(lines="\n".join(lines), example=lines[0])


def lift_closure(services: Services, closure_id: int, by: str) -> bool:
    return space_closures.lift_closure(services.db(), closure_id, by, services.now())


closures = space_closures.closures  # reading needs no notice: the console may call either


def waive_violation(services: Services, violation_id: int, by: str, reason: str) -> bool:
    return violations.waive(services.db(), violation_id, by, _reason(reason), services.now())
