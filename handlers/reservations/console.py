"""Space reservations (空间预约) in the console: who is where now, bookings, closures,
violations and how the spaces are used. Pages here; the API in handlers.reservations.endpoints; what
both do in handlers.reservations.console_actions.

Any staff role may look (counsellors included, as on the readers page); staff and admins
cancel bookings, close spaces and waive violations. These pages name who holds each seat:
that is why they exist only behind a staff login.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from bot.core.clock import TZ
from bot.core.errors import StaffError
from handlers.kit import console as words
from handlers.kit import console_auth as auth
from handlers.kit.console import Card, NavItem, Plugin
from handlers.kit.console_errors import back_to, flashed, on_refusal
from handlers.kit.services import Services
from handlers.reservations import console_actions as actions
from handlers.reservations import reports as space_reports
from handlers.reservations import staff as space_staff
from handlers.reservations.endpoints import EDITORS, api, csv_response, search_filters, stats
from handlers.reservations.reports import (
    STATE_NAMES,
    STATUS_FILTERS,
    STATUS_NAMES,
    VIOLATION_FILTERS,
    VIOLATION_KINDS,
)
from handlers.reservations.spaces import TYPE_NAMES, TYPES, spaces_of

pages = Blueprint("spaces", __name__, template_folder="templates")

PER_PAGE = 30
SECTIONS = (
    ("spaces.index", "占用情况"),
    ("spaces.bookings", "预约查询"),
    ("spaces.closures", "暂停开放"),
    ("spaces.violations", "违约记录"),
    ("spaces.stats_page", "使用统计"),
)
STATUS_FILTER_NAMES = {"": "全部状态", "active": "有效（待签到/使用中/暂离）", **STATUS_NAMES}
VIOLATION_FILTER_NAMES = {"open": "未免除", "waived": "已免除", "all": "全部"}


def may_edit() -> bool:
    who = auth.current_staff()
    return who is not None and who.may(*EDITORS)


def when(stamp: str | None) -> str:
    return f"{datetime.fromisoformat(stamp).astimezone(TZ):%Y-%m-%d %H:%M}" if stamp else ""


def reader_label(reader: dict[str, Any]) -> str:
    """Who a booking is for, as staff recognise them: name and student number, else the id."""
    if reader.get("name"):
        number = f"（{reader['student_no']}）" if reader.get("student_no") else ""
        return f"{reader['name']}{number}"
    return reader.get("student_no") or reader["user_id"]


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(
        template,
        sections=SECTIONS,
        may_edit=may_edit(),
        when=when,
        reader_label=reader_label,
        state_names=STATE_NAMES,
        status_names=STATUS_NAMES,
        type_names=TYPE_NAMES,
        channels=words.CHANNELS,
        **context,
    ), status


def cards(services: Services) -> list[Card]:
    db = services.db()
    if not db["bookings"].exists():  # a bot trimmed of reservations
        return []
    figures = space_reports.today_counts(db, services.now())
    return [
        Card(
            "今日空间预约",
            str(figures["bookings"]),
            note=(
                f"使用中 {figures['in_use']} · 暂离 {figures['away']} · "
                f"待签到 {figures['booked']} · 未签到 {figures['no_show']}"
            ),
            href=url_for("spaces.index"),
        )
    ]


# -- occupancy ---------------------------------------------------------------------------------


def cell_class(space: dict[str, Any]) -> str:
    """The grid's colour for a space: a booked one whose reader is not due yet is paler."""
    state = space["state"]
    if state == "booked" and not space["booking"]["soon"]:
        return "later"
    return state


def cell_title(space: dict[str, Any]) -> str:
    parts = [space["id"], STATE_NAMES[space["state"]]]
    booking = space["booking"]
    if space["closure"]:
        parts.append(f"至 {when(space['closure']['ends_at'])[5:]}：{space['closure']['reason']}")
    if booking:
        parts.append(f"{booking['start']}–{booking['end']}")
        parts.append(reader_label(booking["reader"]))
    if space["bookings_today"]:
        parts.append(f"今日 {space['bookings_today']} 个预约")
    return " · ".join(parts)


@pages.get("/")
@auth.page_access()
def index() -> tuple[str, int]:
    services = actions.services()
    now = services.now()
    zones = space_reports.occupancy(services.db(), spaces_of(services), now)
    chosen = request.args.get("zone", "")
    shown = [z for z in zones if z["id"] == chosen]
    if chosen and not shown:
        flash("没有这个区域，已显示全部区域。", "error")
    shown = shown or zones
    totals = {
        key: sum(z["totals"][key] for z in zones)
        for key in ("spaces", "free", "booked", "in_use", "away", "closed", "bookings_today")
    }
    today = now.astimezone(TZ).date().isoformat()
    return _render(
        "console/spaces.html",
        zones=shown,
        all_zones=zones,
        chosen=chosen if chosen in {z["id"] for z in zones} else "",
        totals=totals,
        now=now.astimezone(TZ),
        cell_class=cell_class,
        cell_title=cell_title,
        # Relative to this page, to keep a thousand cells short.
        detail_base="bookings/",
        search_base=f"bookings?day_from={today}&space=",
    )


# -- bookings ----------------------------------------------------------------------------------


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _search_args() -> dict[str, Any]:
    """The search form's filters; a bad value is said in a flash and left out."""
    args: dict[str, Any] = {
        "q": request.args.get("q", "").strip()[:100],
        "status": request.args.get("status", ""),
        "type": request.args.get("type", ""),
        "space": request.args.get("space", "").strip()[:20],
    }
    if args["status"] not in STATUS_FILTERS:
        flash("没有这个状态，已显示全部状态。", "error")
        args["status"] = ""
    if args["type"] not in ("", *TYPES):
        flash("没有这个空间类型，已显示全部类型。", "error")
        args["type"] = ""
    for field, label in (("day_from", "开始日期"), ("day_to", "结束日期")):
        read = partial(actions.day_of, request.args.get(field, ""), field, label)
        args[field] = flashed(read, None)
    if args["day_from"] and args["day_to"] and args["day_to"] < args["day_from"]:
        flash("结束日期早于开始日期，已对调。", "error")
        args["day_from"], args["day_to"] = args["day_to"], args["day_from"]
    return args


@pages.get("/bookings")
@auth.page_access()
def bookings() -> tuple[str, int]:
    args = _search_args()
    page = _page()
    rows, total = space_reports.search(
        actions.services().db(),
        **search_filters(args),
        limit=PER_PAGE,
        skip=(page - 1) * PER_PAGE,
    )
    query = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in args.items() if v}
    return _render(
        "console/spaces_bookings.html",
        rows=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        args=args,
        status_filters=STATUS_FILTER_NAMES,
        types=TYPES,
        page_url=lambda n: url_for("spaces.bookings", **(query | {"page": n})),
        csv_url=url_for("spaces.bookings_csv", **query),
        spaces=spaces_of(actions.services()),
    )


@pages.get("/bookings.csv")
@auth.page_access()
def bookings_csv() -> Response:
    return csv_response(search_filters(_search_args()))


def _detail(ref: str, draft: str = "", status: int = 200) -> tuple[str, int]:
    row = actions.load_booking(ref)
    services = actions.services()
    space = spaces_of(services).get(row["space_id"])
    return _render(
        "console/spaces_detail.html",
        status,
        b=row,
        space=space,
        zone=spaces_of(services).zones.get(space.zone) if space else None,
        violations=space_reports.violations_of_booking(services.db(), row["id"]),
        violation_kinds=VIOLATION_KINDS,
        draft=draft,
        max_reason=actions.MAX_REASON,
        reader_pages="readers.profile" in current_app.view_functions,
    )


def _missing(*_: Any, **__: Any) -> tuple[str, int]:
    """An unknown booking (a mistyped address, an old link): the search, saying so."""
    return _render(
        "console/spaces_bookings.html",
        404,
        rows=[],
        total=0,
        page=1,
        per_page=PER_PAGE,
        args={"q": "", "status": "", "type": "", "space": "", "day_from": None, "day_to": None},
        status_filters=STATUS_FILTER_NAMES,
        types=TYPES,
        page_url=lambda n: url_for("spaces.bookings", page=n),
        csv_url=url_for("spaces.bookings_csv"),
        spaces=spaces_of(actions.services()),
    )


@pages.get("/bookings/<ref>")
@auth.page_access()
@on_refusal(_missing)
def detail(ref: str) -> tuple[str, int]:
    return _detail(ref)


def _not_cancelled(error: StaffError, ref: str) -> tuple[str, int]:
    """The booking again with the reason as typed, or the search for an unknown one."""
    if error.status == 404:
        return _missing()
    return _detail(ref, draft=request.form.get("reason", ""), status=error.status)


@pages.post("/bookings/<ref>/cancel")
@auth.page_access(*EDITORS)
@on_refusal(_not_cancelled)
def cancel(ref: str) -> Any:
    after = actions.cancel_booking(ref, request.form.get("reason", ""))
    flash(f"已取消预约 {after['ref']}，已通知读者。")
    return redirect(url_for("spaces.detail", ref=after["ref"]))


# -- closures ----------------------------------------------------------------------------------


def _closures(form: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    services = actions.services()
    now = services.now()
    show_all = request.args.get("all", "") in ("1", "on", "true")
    rows = space_staff.closures(services.db(), now, active_only=not show_all)
    stamp = now.astimezone(TZ).isoformat(timespec="seconds")
    start = (now.astimezone(TZ) + timedelta(hours=1)).replace(minute=0)
    return _render(
        "console/spaces_closures.html",
        status,
        rows=rows,
        show_all=show_all,
        now_stamp=stamp,
        spaces=spaces_of(services),
        rooms=[s for s in spaces_of(services).spaces.values() if s.type != "seat"],
        form=form
        or {
            "space_id": "",
            "starts_at": f"{start:%Y-%m-%dT%H:%M}",
            "ends_at": f"{start + timedelta(hours=2):%Y-%m-%dT%H:%M}",
            "reason": "",
        },
        max_reason=actions.MAX_REASON,
    )


@pages.get("/closures")
@auth.page_access()
def closures() -> tuple[str, int]:
    return _closures()


def closed_sentence(result: dict[str, Any]) -> str:
    closure = result["closure"]
    space = spaces_of(actions.services()).get(closure["space_id"])
    name = f"{closure['space_id']} {space.name}" if space else closure["space_id"]
    head = f"已暂停开放 {name}（{when(closure['starts_at'])} 至 {when(closure['ends_at'])}）。"
    affected = result["affected"]
    if not affected:
        return head + "这段时间没有预约受影响。"
    readers = len({(b["channel"], b["user_id"]) for b in affected})
    return (
        head + f"受影响的预约 {len(affected)} 个，已通知 {readers} 位读者"
        "（未开始的已取消，并推荐了其他时间或空间）。"
    )


def _closure_form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("space_id", "starts_at", "ends_at", "reason")}


def _not_closed(error: StaffError) -> tuple[str, int]:
    """The closures page with the form as it was filled in."""
    return _closures(_closure_form(), status=error.status)


@pages.post("/closures")
@auth.page_access(*EDITORS)
@on_refusal(_not_closed)
def close() -> Any:
    form = _closure_form()
    starts = actions.moment(form["starts_at"], "starts_at", "开始时间")
    ends = actions.moment(form["ends_at"], "ends_at", "结束时间")
    result = actions.close_space(form["space_id"], starts, ends, form["reason"])
    flash(closed_sentence(result))
    return redirect(url_for("spaces.closures"))


@pages.post("/closures/<int:closure_id>/lift")
@auth.page_access(*EDITORS)
@on_refusal(back_to("spaces.closures"))
def lift(closure_id: int) -> Response:
    after = actions.lift_closure(closure_id)
    flash(f"已解除 {after['space_id']} 的暂停开放，读者可以重新预约了。")
    return redirect(url_for("spaces.closures"))


# -- violations --------------------------------------------------------------------------------


@pages.get("/violations")
@auth.page_access()
def violations() -> tuple[str, int]:
    state = request.args.get("state", "open")
    if state not in VIOLATION_FILTERS:
        flash("没有这个筛选条件，已显示未免除的违约。", "error")
        state = "open"
    query = request.args.get("q", "").strip()[:100]
    page = _page()
    rows, total = space_reports.violations(
        actions.services().db(),
        state=state,
        query=query,
        limit=PER_PAGE,
        skip=(page - 1) * PER_PAGE,
    )
    return _render(
        "console/spaces_violations.html",
        rows=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        state=state,
        q=query,
        filters=VIOLATION_FILTER_NAMES,
        kinds=VIOLATION_KINDS,
        max_reason=actions.MAX_REASON,
        page_url=lambda n: url_for("spaces.violations", state=state, q=query, page=n),
    )


def _back_from_waiving(*_: Any, **__: Any) -> Response:
    """The page the waive form was on (the violations list or a booking), else the list."""
    back = request.form.get("back", "")
    if back.startswith("/console/spaces/") and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for("spaces.violations"))


@pages.post("/violations/<int:violation_id>/waive")
@auth.page_access(*EDITORS)
@on_refusal(_back_from_waiving)
def waive(violation_id: int) -> Response:
    actions.waive_violation(violation_id, request.form.get("reason", ""))
    flash(f"已免除违约 #{violation_id}，不再计入暂停预约的次数。")
    return _back_from_waiving()


# -- statistics --------------------------------------------------------------------------------


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%".replace(".0%", "%")


def hours_shown(hours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hours with bookings (and the opening hours around them): never 24 empty bars."""
    busy = [h["hour"] for h in hours if h["booked"] or h["used"]]
    first, last = (min(busy), max(busy)) if busy else (8, 21)
    first, last = min(first, 8), max(last, 21)
    return [h for h in hours if first <= h["hour"] <= last]


@pages.get("/stats")
@auth.page_access()
def stats_page() -> tuple[str, int]:
    space_type = request.args.get("type", "")
    if space_type not in ("", *TYPES):
        flash("没有这个空间类型，已显示全部类型。", "error")
        space_type = ""
    first, last = flashed(
        lambda: (
            actions.day_of(request.args.get("day_from", ""), "day_from", "开始日期"),
            actions.day_of(request.args.get("day_to", ""), "day_to", "结束日期"),
        ),
        (None, None),
    )
    if first and last and last < first:
        flash("结束日期早于开始日期，已对调。", "error")
        first, last = last, first
    if first and not last:
        last = first + timedelta(days=6)
    if first and last and (last - first).days > 365:
        flash("统计时段最长一年，已显示结束日期前的一年。", "error")
        first = last - timedelta(days=365)
    figures = stats(first, last, space_type)
    busiest = sorted(figures["spaces"], key=lambda s: -s["booked_minutes"])
    return _render(
        "console/spaces_stats.html",
        f=figures,
        space_type=space_type,
        types=TYPES,
        hours=hours_shown(figures["hours"]),
        busiest=busiest,
        percent=percent,
        zone_label=lambda zone: zone["name"],
        space_label=lambda space: space["id"] if space["type"] == "seat" else space["name"],
    )


PLUGIN = Plugin(
    name="spaces",
    pages=pages,
    api=api,
    nav=(NavItem("空间预约", "spaces.index"),),
    cards=(cards,),
    order=40,
)
