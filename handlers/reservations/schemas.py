"""What the /api/v1/spaces calls (handlers.reservations.endpoints) take and give: a booking, a
closure, a violation as JSON, and the marshmallow schemas of their arguments and answers. The
schema classes' names are the component names in the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from bot.core.clock import TZ, isoformat
from handlers.kit.console_api import PageArgs, page_of
from handlers.reservations import console_actions as actions
from handlers.reservations import reports as space_reports
from handlers.reservations.reports import STATUS_FILTERS, VIOLATION_FILTERS
from handlers.reservations.spaces import TYPES, spaces_of

STATS_DAYS = 7  # the default period: the last week, today included
MAX_STATS_DAYS = 366


# -- what a booking, a closure, a violation look like ---------------------------------------------


def booking_json(row: dict[str, Any]) -> dict[str, Any]:
    """A booking as staff see it, its reader included."""
    spaces = spaces_of(actions.services())
    space = spaces.get(row["space_id"])
    return {
        "id": row["id"],
        "ref": row["ref"],
        "space_id": row["space_id"],
        "space_name": space.name if space else row["space_id"],
        "space_type": row["space_type"],
        "zone": space.zone if space else None,
        "day": row["day"],
        "start": row["start"],
        "end": row["end"],
        "party_size": row["party_size"],
        "companions": row["companions"],
        "status": row["status"],
        "created_at": row["created_at"],
        "checked_in_at": row["checked_in_at"],
        "away_since": row["away_since"],
        "ended_at": row["ended_at"],
        "cancel_reason": row["cancel_reason"],
        "cancelled_by": row["cancelled_by"],
        "reader": {
            "channel": row["channel"],
            "user_id": row["user_id"],
            "name": row.get("name"),
            "student_no": row.get("student_no"),
        },
    }


def closure_json(row: dict[str, Any]) -> dict[str, Any]:
    services = actions.services()
    space = spaces_of(services).get(row["space_id"])
    now = isoformat(services.now())
    return {
        **{k: row[k] for k in ("id", "space_id", "starts_at", "ends_at", "reason")},
        **{k: row[k] for k in ("created_by", "created_at", "lifted_at", "lifted_by")},
        "space_name": space.name if space else row["space_id"],
        "in_force": row["lifted_at"] is None and row["starts_at"] <= now < row["ends_at"],
    }


def violation_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("id", "kind", "at", "waived_at", "waived_by", "waive_reason")},
        "booking_ref": row["booking_ref"],
        "space_id": row["space_id"],
        "day": row["day"],
        "start": row["start"],
        "end": row["end"],
        "reader": {
            "channel": row["channel"],
            "user_id": row["user_id"],
            "name": row.get("name"),
            "student_no": row.get("student_no"),
        },
    }


# -- schemas --------------------------------------------------------------------------------------


class SpaceReaderSchema(ma.Schema):
    channel = ma.fields.String(metadata={"description": "mp (公众号) or work (WeCom)"})
    user_id = ma.fields.String(metadata={"description": "openid / userid"})
    name = ma.fields.String(allow_none=True)
    student_no = ma.fields.String(allow_none=True)


class BookingSchema(ma.Schema):
    id = ma.fields.Integer()
    ref = ma.fields.String(metadata={"description": "YY…"})
    space_id = ma.fields.String()
    space_name = ma.fields.String()
    space_type = ma.fields.String(metadata={"description": " / ".join(TYPES)})
    zone = ma.fields.String(allow_none=True)
    day = ma.fields.String(metadata={"description": "YYYY-MM-DD, Asia/Shanghai"})
    start = ma.fields.String(metadata={"description": "HH:MM"})
    end = ma.fields.String(metadata={"description": "HH:MM"})
    party_size = ma.fields.Integer()
    companions = ma.fields.List(ma.fields.String(), metadata={"description": "student numbers"})
    status = ma.fields.String(metadata={"description": " / ".join(space_reports.STATUSES)})
    created_at = ma.fields.String()
    checked_in_at = ma.fields.String(allow_none=True)
    away_since = ma.fields.String(allow_none=True)
    ended_at = ma.fields.String(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    cancelled_by = ma.fields.String(allow_none=True, metadata={"description": "reader / staff:…"})
    reader = ma.fields.Nested(SpaceReaderSchema)


class OccupancyBookingSchema(ma.Schema):
    ref = ma.fields.String()
    status = ma.fields.String()
    start = ma.fields.String()
    end = ma.fields.String()
    party_size = ma.fields.Integer()
    soon = ma.fields.Boolean(metadata={"description": "its check-in window is open"})
    reader = ma.fields.Nested(SpaceReaderSchema)


class OccupancyClosureSchema(ma.Schema):
    id = ma.fields.Integer()
    reason = ma.fields.String()
    ends_at = ma.fields.String()


class OccupancySpaceSchema(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    name = ma.fields.String()
    capacity = ma.fields.Integer()
    state = ma.fields.String(metadata={"description": " / ".join(space_reports.STATES)})
    bookings_today = ma.fields.Integer(metadata={"description": "not cancelled"})
    booking = ma.fields.Nested(
        OccupancyBookingSchema,
        allow_none=True,
        metadata={"description": "the booking in use, or the next one today"},
    )
    closure = ma.fields.Nested(OccupancyClosureSchema, allow_none=True)


class OccupancyTotalsSchema(ma.Schema):
    spaces = ma.fields.Integer()
    free = ma.fields.Integer()
    booked = ma.fields.Integer()
    in_use = ma.fields.Integer()
    away = ma.fields.Integer()
    closed = ma.fields.Integer()
    bookings_today = ma.fields.Integer()


class OccupancyZoneSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    floor = ma.fields.Integer()
    totals = ma.fields.Nested(OccupancyTotalsSchema)
    spaces = ma.fields.List(ma.fields.Nested(OccupancySpaceSchema))


class OccupancySchema(ma.Schema):
    as_of = ma.fields.String()
    zones = ma.fields.List(ma.fields.Nested(OccupancyZoneSchema))


class OccupancyArgs(ma.Schema):
    zone = ma.fields.String(load_default="", metadata={"description": "one zone's id; empty: all"})


class BookingFilterArgs(ma.Schema):
    q = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=100),
        metadata={
            "description": "a reference, a space id, the start of a reader's id or student "
            "number, or part of a name"
        },
    )
    day_from = ma.fields.Date(metadata={"description": "YYYY-MM-DD, included"})
    day_to = ma.fields.Date(metadata={"description": "YYYY-MM-DD, included"})
    status = ma.fields.String(
        load_default="",
        validate=ma.validate.OneOf(STATUS_FILTERS),
        metadata={"description": "one status, or active (booked, checked_in, away); empty: all"},
    )
    type = ma.fields.String(load_default="", validate=ma.validate.OneOf(("", *TYPES)))
    space = ma.fields.String(load_default="", metadata={"description": "one space's id"})

    @ma.validates_schema
    def days_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("day_from") and data.get("day_to") and data["day_to"] < data["day_from"]:
            raise ma.ValidationError("day_to is before day_from", "day_to")


class BookingListArgs(BookingFilterArgs, PageArgs):
    pass


class ReasonArgs(ma.Schema):
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=actions.MAX_REASON),
        metadata={"description": "told to the reader"},
    )


class WaiveArgs(ma.Schema):
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=actions.MAX_REASON),
        metadata={"description": "why it is waived (kept with the violation)"},
    )


class ClosureSchema(ma.Schema):
    id = ma.fields.Integer()
    space_id = ma.fields.String()
    space_name = ma.fields.String()
    starts_at = ma.fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    ends_at = ma.fields.String()
    reason = ma.fields.String()
    created_by = ma.fields.String()
    created_at = ma.fields.String()
    lifted_at = ma.fields.String(allow_none=True)
    lifted_by = ma.fields.String(allow_none=True)
    in_force = ma.fields.Boolean(metadata={"description": "closed right now"})


class ClosureListArgs(PageArgs):
    all = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "also lifted and past ones; default: in force or planned"},
    )


class ClosureArgs(ma.Schema):
    space_id = ma.fields.String(required=True)
    starts_at = ma.fields.AwareDateTime(
        required=True,
        default_timezone=TZ,
        metadata={"description": "ISO 8601; without an offset, Asia/Shanghai"},
    )
    ends_at = ma.fields.AwareDateTime(required=True, default_timezone=TZ)
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=actions.MAX_REASON),
        metadata={"description": "told to the readers whose bookings it cancels"},
    )


class ClosureResultSchema(ma.Schema):
    closure = ma.fields.Nested(ClosureSchema)
    affected = ma.fields.List(
        ma.fields.Nested(BookingSchema),
        metadata={"description": "the bookings it cancelled or ended early; each reader told"},
    )
    readers = ma.fields.Integer(metadata={"description": "how many readers were notified"})


class ViolationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "no_show or overstay"})
    at = ma.fields.String()
    waived_at = ma.fields.String(allow_none=True)
    waived_by = ma.fields.String(allow_none=True)
    waive_reason = ma.fields.String(allow_none=True)
    booking_ref = ma.fields.String(allow_none=True)
    space_id = ma.fields.String(allow_none=True)
    day = ma.fields.String(allow_none=True)
    start = ma.fields.String(allow_none=True)
    end = ma.fields.String(allow_none=True)
    reader = ma.fields.Nested(SpaceReaderSchema)


class ViolationListArgs(PageArgs):
    state = ma.fields.String(load_default="open", validate=ma.validate.OneOf(VIOLATION_FILTERS))
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))


class StatsArgs(ma.Schema):
    day_from = ma.fields.Date(metadata={"description": f"default: {STATS_DAYS - 1} days ago"})
    day_to = ma.fields.Date(metadata={"description": "default: today"})
    type = ma.fields.String(load_default="", validate=ma.validate.OneOf(("", *TYPES)))

    @ma.validates_schema
    def days_in_order(self, data: dict[str, Any], **_: Any) -> None:
        first, last = data.get("day_from"), data.get("day_to")
        if first and last and last < first:
            raise ma.ValidationError("day_to is before day_from", "day_to")
        if first and last and (last - first).days >= MAX_STATS_DAYS:
            raise ma.ValidationError(f"at most {MAX_STATS_DAYS} days", "day_from")


class StatsSpaceSchema(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    name = ma.fields.String()
    zone = ma.fields.String()
    bookings = ma.fields.Integer()
    booked_minutes = ma.fields.Integer()
    used_minutes = ma.fields.Integer()
    no_shows = ma.fields.Integer()
    open_minutes = ma.fields.Integer(allow_none=True)
    booked_share = ma.fields.Float(allow_none=True)
    used_share = ma.fields.Float(allow_none=True)


class StatsZoneSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    spaces = ma.fields.Integer()
    bookings = ma.fields.Integer()
    booked_minutes = ma.fields.Integer()
    used_minutes = ma.fields.Integer()
    no_shows = ma.fields.Integer()
    booked_share = ma.fields.Float(allow_none=True)
    used_share = ma.fields.Float(allow_none=True)


class StatsHourSchema(ma.Schema):
    hour = ma.fields.Integer()
    booked = ma.fields.Float(metadata={"description": "spaces booked in that hour, per day"})
    used = ma.fields.Float(metadata={"description": "spaces in use in that hour, per day"})


class StatsNoShowSchema(ma.Schema):
    due = ma.fields.Integer(metadata={"description": "bookings that reached their check-in"})
    no_shows = ma.fields.Integer()
    rate = ma.fields.Float(allow_none=True)


class StatsSchema(ma.Schema):
    first_day = ma.fields.String()
    last_day = ma.fields.String()
    days = ma.fields.Integer(metadata={"description": "open days in the period"})
    space_type = ma.fields.String()
    spaces = ma.fields.List(ma.fields.Nested(StatsSpaceSchema))
    zones = ma.fields.List(ma.fields.Nested(StatsZoneSchema))
    hours = ma.fields.List(ma.fields.Nested(StatsHourSchema))
    no_show = ma.fields.Nested(StatsNoShowSchema)


BookingPage = page_of(BookingSchema, "BookingPage")
ClosurePage = page_of(ClosureSchema, "ClosurePage")
ViolationPage = page_of(ViolationSchema, "ViolationPage")
