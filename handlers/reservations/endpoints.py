"""/api/v1/spaces: space reservations for scripts — occupancy, bookings, closures, violations,
statistics and a CSV export. The same calls as the console's pages (handlers.reservations.console),
the same error shape and pagination as the rest of the API.

Any staff role may read; staff and admins may cancel, close, lift and waive.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, abort, stream_with_context
from flask_smorest import Blueprint as ApiBlueprint

from bot.core.clock import TZ, isoformat
from handlers.kit import console_auth as auth
from handlers.kit.console_api import offset, paginate
from handlers.reservations import console_actions as actions
from handlers.reservations import export as space_export
from handlers.reservations import reports as space_reports
from handlers.reservations import staff as space_staff
from handlers.reservations import utilisation as space_utilisation
from handlers.reservations.schemas import (
    STATS_DAYS,
    BookingFilterArgs,
    BookingListArgs,
    BookingPage,
    BookingSchema,
    ClosureArgs,
    ClosureListArgs,
    ClosurePage,
    ClosureResultSchema,
    ClosureSchema,
    OccupancyArgs,
    OccupancySchema,
    ReasonArgs,
    StatsArgs,
    StatsSchema,
    ViolationListArgs,
    ViolationPage,
    ViolationSchema,
    WaiveArgs,
    booking_json,
    closure_json,
    violation_json,
)
from handlers.reservations.spaces import spaces_of

api = ApiBlueprint(
    "api_spaces",
    __name__,
    description="Space reservations: occupancy, bookings, closures, violations, statistics",
)

EDITORS = ("staff",)  # and admin, always; counsellors may look but not change


# -- shared with the pages ------------------------------------------------------------------------


def search_filters(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "query": args.get("q", ""),
        "day_from": args.get("day_from"),
        "day_to": args.get("day_to"),
        "status": args.get("status", ""),
        "space_id": args.get("space", ""),
        "space_type": args.get("type", ""),
    }


def stats(first: date | None, last: date | None, space_type: str) -> dict[str, Any]:
    services = actions.services()
    now = services.now()
    last = last or now.astimezone(TZ).date()
    first = first or last - timedelta(days=STATS_DAYS - 1)
    return space_utilisation.utilisation(
        services.db(),
        spaces_of(services),
        first,
        last,
        space_type=space_type,
        calendar=services.calendar,
        now=now,
    )


def csv_response(filters: dict[str, Any]) -> Response:
    """Every booking the filters find, streamed as CSV (UTF-8 with a BOM, for Excel)."""
    services = actions.services()
    chunks = space_export.search_csv(services.db(), spaces_of(services), **filters)
    name = f"空间预约-{services.now().astimezone(TZ):%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"bookings.csv\"; filename*=UTF-8''{quote(name)}"
            )
        },
    )


def closure_result(result: dict[str, Any]) -> dict[str, Any]:
    """A closure and the bookings it hit, as they are now (cancelled, or ended early)."""
    db = actions.services().db()
    affected = result["affected"]
    rows = [space_reports.booking(db, b["ref"]) for b in affected]
    return {
        "closure": closure_json(result["closure"]),
        "affected": [booking_json(row) for row in rows if row is not None],
        "readers": len({(b["channel"], b["user_id"]) for b in affected}),
    }


# -- endpoints (the token is checked before any argument is read: no token, 401) ------------------


@api.get("/occupancy")
@auth.api_access()
@api.arguments(OccupancyArgs, location="query")
@api.response(200, OccupancySchema)
def api_occupancy(args: dict[str, Any]) -> dict[str, Any]:
    """Every space's state now (free, booked, in_use, away, closed), zone by zone, with who
    holds it and how many bookings it has today."""
    services = actions.services()
    zones = space_reports.occupancy(services.db(), spaces_of(services), services.now())
    if args["zone"]:
        zones = [z for z in zones if z["id"] == args["zone"]]
        if not zones:
            abort(404, description="no such zone")
    return {"as_of": isoformat(services.now()), "zones": zones}


@api.get("/bookings")
@auth.api_access()
@api.arguments(BookingListArgs, location="query")
@api.response(200, BookingPage)
def api_bookings(args: dict[str, Any]) -> dict[str, Any]:
    """Bookings matching the filters, latest day first, by start within a day."""
    limit, skip = offset(args)
    rows, total = space_reports.search(
        actions.services().db(), **search_filters(args), limit=limit, skip=skip
    )
    return paginate([booking_json(row) for row in rows], total, args)


@api.get("/bookings.csv")
@auth.api_access()
@api.arguments(BookingFilterArgs, location="query")
@api.response(
    200,
    {"type": "string"},
    content_type="text/csv",
    description="UTF-8 with a BOM; Chinese column names (for Excel); every matching booking",
)
def api_bookings_csv(args: dict[str, Any]) -> Response:
    """The bookings the filters find, all of them, as a CSV file."""
    return csv_response(search_filters(args))


@api.get("/bookings/<ref>")
@auth.api_access()
@api.response(200, BookingSchema)
def api_booking(ref: str) -> dict[str, Any]:
    """One booking by its reference."""
    return booking_json(actions.load_booking(ref))


@api.post("/bookings/<ref>/cancel")
@auth.api_access(*EDITORS)
@api.arguments(ReasonArgs)
@api.response(200, BookingSchema)
def api_cancel(args: dict[str, Any], ref: str) -> dict[str, Any]:
    """Cancel a booking not yet begun; the reader is told the reason (staff and admin)."""
    return booking_json(actions.cancel_booking(ref, args["reason"]))


@api.get("/closures")
@auth.api_access()
@api.arguments(ClosureListArgs, location="query")
@api.response(200, ClosurePage)
def api_closures(args: dict[str, Any]) -> dict[str, Any]:
    """Closures in force or planned, latest start first (`all`: lifted and past ones too)."""
    services = actions.services()
    rows = space_staff.closures(services.db(), services.now(), active_only=not args["all"])
    limit, skip = offset(args)
    return paginate([closure_json(r) for r in rows[skip : skip + limit]], len(rows), args)


@api.post("/closures")
@auth.api_access(*EDITORS)
@api.arguments(ClosureArgs)
@api.response(201, ClosureResultSchema)
def api_close(args: dict[str, Any]) -> dict[str, Any]:
    """Close a space for a period (staff and admin): the bookings it hits are cancelled (or
    end, if in use) and their readers are told, with alternatives."""
    result = actions.close_space(
        args["space_id"], args["starts_at"], args["ends_at"], args["reason"]
    )
    return closure_result(result)


@api.delete("/closures/<int:closure_id>")
@auth.api_access(*EDITORS)
@api.response(200, ClosureSchema)
def api_lift(closure_id: int) -> dict[str, Any]:
    """Lift a closure now (staff and admin); 409 when it was lifted already or is over."""
    return closure_json(actions.lift_closure(closure_id))


@api.get("/violations")
@auth.api_access()
@api.arguments(ViolationListArgs, location="query")
@api.response(200, ViolationPage)
def api_violations(args: dict[str, Any]) -> dict[str, Any]:
    """Violations (no-shows, overstayed 暂离), newest first: open, waived or all."""
    limit, skip = offset(args)
    rows, total = space_reports.violations(
        actions.services().db(), state=args["state"], query=args["q"], limit=limit, skip=skip
    )
    return paginate([violation_json(r) for r in rows], total, args)


@api.post("/violations/<int:violation_id>/waive")
@auth.api_access(*EDITORS)
@api.arguments(WaiveArgs)
@api.response(200, ViolationSchema)
def api_waive(args: dict[str, Any], violation_id: int) -> dict[str, Any]:
    """Waive a violation with a reason (staff and admin): it no longer counts."""
    return violation_json(actions.waive_violation(violation_id, args["reason"]))


@api.get("/stats")
@auth.api_access()
@api.arguments(StatsArgs, location="query")
@api.response(200, StatsSchema)
def api_stats(args: dict[str, Any]) -> dict[str, Any]:
    """Utilisation per space, zone and hour of day, and the no-show rate, over a period
    (default: the last 7 days); shares are of the library's opening hours."""
    first, last = args.get("day_from"), args.get("day_to")
    if first and not last:
        last = first + timedelta(days=STATS_DAYS - 1)
    return stats(first, last, args["type"])
