"""Space reservations in the console and the API: occupancy, search, cancelling, closures,
violations, statistics, the CSV export — with the audit log, roles, bad input, the notices
readers are sent, and that nobody without a staff login or token sees who holds a seat."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from bot.core import outbox, users
from bot.core.clock import TZ
from bot.core.values import Incoming
from handlers.registry import CAPABILITIES
from handlers.reservations import bookings, presence
from handlers.reservations import export as space_export
from handlers.reservations import reports as space_reports
from handlers.reservations import staff as space_staff
from handlers.reservations import utilisation as space_utilisation
from handlers.reservations.spaces import spaces_of
from handlers.reservations.store import BookingError, Reader, Wish
from tests.conftest import Clock, Console
from tests.console.test_console_auth import routes

MONDAY = date(2026, 11, 23)  # the library opens 07:00–22:30
TUESDAY = MONDAY + timedelta(days=1)
ZHANG = Reader("mp", "oZhang")  # 张晓, in A001 since 08:35
LI = Reader("mp", "oLi")  # 李四, in A002, stepped out at 09:00
WANG = Reader("mp", "oWang")  # A003 from 09:00, not come yet
ZHAO = Reader("work", "zhao")  # A004 this afternoon
SUN = Reader("mp", "oSun")  # T201 from 10:00, three of them
NAMES = {ZHANG: ("张晓", "2023011234"), LI: ("李四", "2024020001"), SUN: ("孙悦", "2022030003")}


def at(hhmm: str, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("07:00"))


@pytest.fixture
def console(make_app: Any, clock: Clock) -> Console:
    return make_console(make_app, clock)


def make_console(make_app: Any, clock: Clock) -> Console:
    """The app on the test's clock, with ann (staff), carl (counsellor), ada (admin) and
    three readers whose names and student numbers the library knows."""
    console = Console(make_app(cookie_secure=False, clock=clock))
    for name, role in [("ann", "staff"), ("carl", "counsellor"), ("ada", "admin")]:
        console.add_staff(name, role)
    db = console.services.db()
    for reader, (name, number) in NAMES.items():
        incoming = Incoming(reader.channel, reader.user_id, "text", clock.now)
        users.touch(db, incoming, clock.now)
        users.update_profile(db, reader.channel, reader.user_id, name=name, student_no=number)
    return console


def book(
    console: Console,
    reader: Reader,
    start: str,
    end: str,
    space_id: str = "",
    kind: str = "seat",
    party: int = 1,
    day: date = MONDAY,
) -> dict[str, Any]:
    services = console.services
    wish = Wish(
        kind,
        day,
        time.fromisoformat(start),
        time.fromisoformat(end),
        party_size=party,
        space_id=space_id,
    )
    return bookings.book(
        services.db(), spaces_of(services), services.calendar, reader, wish, services.now()
    )


@pytest.fixture
def hall(console: Console, clock: Clock) -> dict[str, str]:
    return seed_hall(console, clock)


def seed_hall(console: Console, clock: Clock) -> dict[str, str]:
    """Monday 09:05 in the library: one reader in a seat, one stepped out, one due now, one
    this afternoon, a group's room at 10:00 and a room closed for repairs. Refs by reader."""
    db, spaces = console.services.db(), spaces_of(console.services)
    refs = {
        "zhang": book(console, ZHANG, "08:30", "11:30", "A001")["ref"],
        "li": book(console, LI, "08:00", "12:00", "A002")["ref"],
        "wang": book(console, WANG, "09:00", "11:00", "A003")["ref"],
        "zhao": book(console, ZHAO, "14:00", "16:00", "A004")["ref"],
        "sun": book(console, SUN, "10:00", "12:00", "T201", "discussion_room", 3)["ref"],
    }
    presence.check_in(db, spaces, LI, at("08:05"))
    presence.check_in(db, spaces, ZHANG, at("08:35"))
    presence.step_out(db, spaces, LI, at("09:00"))
    clock.now = at("08:00")
    space_staff.close_space(
        console.services, "T301", at("09:00"), at("12:00"), "更换空调滤网", "staff:ada"
    )
    clock.now = at("09:05")
    return refs


def logged_in(console: Console, username: str = "ann") -> Console:
    assert console.login(username).status_code == 302
    return console


def token(console: Console, username: str = "ann") -> str:
    return console.api_token(username)


def audit(console: Console, action: str) -> list[dict[str, Any]]:
    found = console.services.db().query(
        "SELECT username, target, before, after FROM audit_log WHERE action = ? ORDER BY id",
        [action],
    )
    return [
        {
            **row,
            "before": json.loads(row["before"] or "null"),
            "after": json.loads(row["after"] or "null"),
        }
        for row in found
    ]


def notices(console: Console, reader: Reader) -> list[dict[str, Any]]:
    return outbox.for_recipient(console.services.db(), reader.channel, reader.user_id)


def flashes(page: str) -> list[str]:
    return re.findall(r'<div class="flash[^"]*" role="status">([^<]*)</div>', page)


# -- occupancy -----------------------------------------------------------------------------------


def test_occupancy_gives_each_space_its_state_zone_by_zone(
    console: Console, hall: dict[str, str]
) -> None:
    zones = space_reports.occupancy(
        console.services.db(), spaces_of(console.services), console.services.now()
    )
    spaces = spaces_of(console.services)
    in_use = {s.zone for s in spaces.spaces.values()}
    assert [z["id"] for z in zones] == [z for z in spaces.zones if z in in_use]  # config order
    zone = {z["id"]: z for z in zones}
    k3 = {s["id"]: s for s in zone["K3"]["spaces"]}
    states = {i: (k3[i]["state"], (k3[i]["booking"] or {}).get("soon")) for i in k3}
    assert states["A001"] == ("in_use", True)
    assert states["A002"] == ("away", True)
    assert states["A003"] == ("booked", True)  # its check-in window is open
    assert states["A004"] == ("booked", False)  # this afternoon
    assert states["A005"] == ("free", None)
    assert k3["A001"]["booking"]["reader"] == {
        "channel": "mp",
        "user_id": "oZhang",
        "name": "张晓",
        "student_no": "2023011234",
    }
    hall_size = len(k3)
    assert zone["K3"]["totals"] == {
        "spaces": hall_size,
        "free": hall_size - 4,
        "booked": 2,
        "in_use": 1,
        "away": 1,
        "closed": 0,
        "bookings_today": 4,
    }
    rooms = {s["id"]: s for s in zone["T"]["spaces"]}
    assert rooms["T301"]["state"] == "closed"
    assert rooms["T301"]["closure"]["reason"] == "更换空调滤网"
    assert rooms["T201"]["state"] == "booked" and rooms["T201"]["booking"]["party_size"] == 3
    assert zone["T"]["totals"]["closed"] == 1 and zone["T"]["totals"]["booked"] == 1
    assert zone["T"]["totals"]["free"] == len(rooms) - 2


def test_occupancy_moves_with_the_clock(
    console: Console, hall: dict[str, str], clock: Clock
) -> None:
    def state(space_id: str) -> str:
        for zone in space_reports.occupancy(
            console.services.db(), spaces_of(console.services), clock.now
        ):
            for space in zone["spaces"]:
                if space["id"] == space_id:
                    return str(space["state"])
        raise AssertionError(space_id)

    clock.now = at("12:00")  # the closure is over, the morning's bookings too
    assert state("T301") == "free"
    clock.now = at("16:00")
    assert state("A004") == "free"  # a booked one whose time is over is no longer shown


def test_the_occupancy_page_is_a_grid_of_seats_and_tiles_of_rooms(
    console: Console, hall: dict[str, str]
) -> None:
    page = logged_in(console).client.get("/console/spaces/").get_data(as_text=True)
    cells = {
        m.group(2): (m.group(1), m.group(3))
        for m in re.finditer(r'<a class="([a-z_]+)" data-space="(\w+)"[^>]*title="([^"]*)"', page)
    }
    assert len(cells) == len(spaces_of(console.services).spaces)  # every seat and room, once
    assert cells["A001"] == (
        "in_use",
        "A001 · 使用中 · 08:30–11:30 · 张晓（2023011234） · 今日 1 个预约",
    )
    assert cells["A002"][0] == "away" and "李四" in cells["A002"][1]
    assert cells["A003"][0] == "booked" and "oWang" in cells["A003"][1]  # no name: the id
    assert cells["A004"][0] == "later"
    assert cells["A005"] == ("free", "A005 · 空闲")
    assert cells["T301"][0] == "closed" and "更换空调滤网" in cells["T301"][1]
    assert f'href="bookings/{hall["zhang"]}"' in page
    for label in ("空闲", "已预约（待签到）", "今日稍后有预约", "使用中", "暂离", "暂停开放"):
        assert label in page.split('id="legend"')[1].split("</div>")[0]
    assert "<script" not in page
    only_rooms = console.client.get("/console/spaces/?zone=T").get_data(as_text=True)
    assert 'data-zone="T"' in only_rooms and 'data-zone="K3"' not in only_rooms
    unknown = console.client.get("/console/spaces/?zone=Q").get_data(as_text=True)
    assert flashes(unknown) == ["没有这个区域，已显示全部区域。"] and 'data-zone="K3"' in unknown


def test_the_dashboard_card_counts_todays_bookings(console: Console, hall: dict[str, str]) -> None:
    page = logged_in(console).client.get("/console/").get_data(as_text=True)
    card = page.split("今日空间预约")[1].split("</section>")[0]
    assert '<div class="value">5</div>' in card
    assert "使用中 1 · 暂离 1 · 待签到 3 · 未签到 0" in card
    assert ">空间预约</a>" in page  # in the menu


def test_an_app_without_the_reservations_capability_has_no_spaces_pages(
    make_app: Any, clock: Clock
) -> None:
    without = tuple(c for c in CAPABILITIES if c.name != "reservations")
    console = Console(make_app(cookie_secure=False, clock=clock, capabilities=without))
    console.add_staff("ann", "staff")
    page = logged_in(console).client.get("/console/")
    assert page.status_code == 200
    assert "空间预约" not in page.get_data(as_text=True)  # neither menu entry nor card
    assert console.client.get("/console/spaces/").status_code == 404
    assert console.api("GET", "/api/v1/spaces/occupancy", token(console)).status_code == 404


def test_the_api_gives_occupancy_per_zone(console: Console, hall: dict[str, str]) -> None:
    answer = console.api("GET", "/api/v1/spaces/occupancy?zone=T", token(console))
    assert answer.status_code == 200
    [zone] = answer.json["zones"]
    assert answer.json["as_of"] == "2026-11-23T09:05:00+08:00"
    states = {s["id"]: s["state"] for s in zone["spaces"]}
    assert (states.pop("T201"), states.pop("T301")) == ("booked", "closed")
    assert set(states.values()) == {"free"} and "R501" in states
    missing = console.api("GET", "/api/v1/spaces/occupancy?zone=Q", token(console))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


# -- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "readers"),
    [
        ("张晓", ["zhang"]),  # a name
        ("晓", ["zhang"]),  # part of one
        ("202402", ["li"]),  # the start of a student number
        ("a003", ["wang"]),  # a space, any case
        ("yy00000", ["li", "zhang", "wang", "sun", "zhao"]),  # the start of a reference
        ("oZha", ["zhang"]),  # the start of a reader's id
        ("zhao", ["zhao"]),
        ("%", []),  # a wildcard is a character like any other
    ],
)
def test_search_finds_by_reference_space_reader_name_and_number(
    console: Console, hall: dict[str, str], query: str, readers: list[str]
) -> None:
    rows, total = space_reports.search(console.services.db(), query=query)
    assert [row["ref"] for row in rows] == [hall[r] for r in readers]  # by start on a day
    assert total == len(readers)


def test_search_filters_and_pages_through_the_api(console: Console, hall: dict[str, str]) -> None:
    key = token(console)

    def refs(query: str) -> tuple[list[str], int]:
        answer = console.api("GET", f"/api/v1/spaces/bookings?{query}", key)
        assert answer.status_code == 200, answer.json
        return [b["ref"] for b in answer.json["items"]], answer.json["total"]

    assert refs("status=checked_in") == ([hall["zhang"]], 1)
    assert refs("status=active")[1] == 5
    assert refs("type=discussion_room") == ([hall["sun"]], 1)
    assert refs("space=a004") == ([hall["zhao"]], 1)
    assert refs("day_from=2026-11-24") == ([], 0)
    assert refs("day_from=2026-11-23&day_to=2026-11-23")[1] == 5
    first, total = refs("per_page=2")
    last, _ = refs("per_page=2&page=3")
    assert (len(first), total, last) == (2, 5, [hall["zhao"]])
    one = console.api("GET", "/api/v1/spaces/bookings?q=张晓", key).json["items"][0]
    assert one["reader"] == {
        "channel": "mp",
        "user_id": "oZhang",
        "name": "张晓",
        "student_no": "2023011234",
    }
    assert (one["space_name"], one["zone"], one["status"]) == ("A001 号座", "K3", "checked_in")
    detail = console.api("GET", f"/api/v1/spaces/bookings/{hall['zhang'].lower()}", key)
    assert detail.status_code == 200 and detail.json["ref"] == hall["zhang"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("type=sofa", "type"),
        ("day_from=2026-11-24&day_to=2026-11-23", "day_to"),
        ("day_from=monday", "day_from"),
        ("per_page=500", "per_page"),
    ],
)
def test_bad_search_filters_are_refused_with_the_field(
    console: Console, query: str, field: str
) -> None:
    answer = console.api("GET", f"/api/v1/spaces/bookings?{query}", token(console))
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid"
    assert field in json.dumps(answer.json["error"]["details"])


def test_the_bookings_page_searches_and_says_what_it_could_not_use(
    console: Console, hall: dict[str, str]
) -> None:
    client = logged_in(console).client
    page = client.get("/console/spaces/bookings?q=李四").get_data(as_text=True)
    assert re.findall(r'<tr data-ref="(\w+)"', page) == [hall["li"]]
    assert "李四（2024020001）" in page and "暂离中" in page
    odd = client.get("/console/spaces/bookings?day_from=someday&status=lost")
    assert odd.status_code == 200
    said = flashes(odd.get_data(as_text=True))
    assert "开始日期的格式不对，请用日期选择器填写。" in said
    assert "没有这个状态，已显示全部状态。" in said
    assert len(re.findall(r'<tr data-ref="', odd.get_data(as_text=True))) == 5


# -- cancelling ------------------------------------------------------------------------------------


def test_staff_cancel_a_booking_with_a_reason_and_the_reader_is_told(
    console: Console, hall: dict[str, str]
) -> None:
    ref = hall["zhao"]
    logged_in(console)
    response = console.post(
        f"/console/spaces/bookings/{ref}/cancel", {"reason": "该区域下午临时用于考试"}
    )
    assert response.headers["Location"] == f"/console/spaces/bookings/{ref}"
    page = console.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已取消预约" in "".join(flashes(page)) and "已取消" in page
    assert "该区域下午临时用于考试" in page and "staff:ann" in page
    assert 'id="cancel-form"' not in page  # nothing left to cancel
    [notice] = notices(console, ZHAO)
    assert notice["kind"] == "booking.staff_cancelled"
    assert "该区域下午临时用于考试" in notice["payload"]["content"]
    assert "A004" in notice["payload"]["content"]
    [entry] = audit(console, "booking.cancel")
    assert entry["username"] == "ann" and entry["target"] == f"booking:{ref}"
    assert entry["before"] == {"status": "booked", "cancel_reason": None, "cancelled_by": None}
    assert entry["after"] == {
        "status": "cancelled",
        "cancel_reason": "该区域下午临时用于考试",
        "cancelled_by": "staff:ann",
    }
    # The seat is free again for that time.
    assert book(console, Reader("mp", "oNext"), "14:00", "16:00", "A004")["status"] == "booked"


def test_cancelling_through_the_api(console: Console, hall: dict[str, str]) -> None:
    key = token(console)
    done = console.api(
        "POST", f"/api/v1/spaces/bookings/{hall['wang']}/cancel", key, json={"reason": "座位损坏"}
    )
    assert done.status_code == 200
    assert (done.json["status"], done.json["cancel_reason"]) == ("cancelled", "座位损坏")
    assert notices(console, WANG)[0]["kind"] == "booking.staff_cancelled"
    assert audit(console, "booking.cancel")[0]["username"] == "ann"


@pytest.mark.parametrize(
    ("who", "reason", "status", "code", "sentence"),
    [
        ("zhao", "   ", 422, "invalid", "请写明原因（读者会收到）。"),
        ("zhao", "长" * 201, 422, "invalid", "原因请控制在 200 字以内。"),
        ("zhang", "座位损坏", 409, "conflict", "这个预约已经开始使用或已经结束，不能取消了。"),
        ("nobody", "座位损坏", 404, "not_found", "没有找到预约 YY999999。"),
    ],
)
def test_a_cancel_that_cannot_be_done_is_said_and_changes_nothing(
    console: Console,
    hall: dict[str, str],
    who: str,
    reason: str,
    status: int,
    code: str,
    sentence: str,
) -> None:
    ref = hall.get(who, "YY999999")
    logged_in(console)
    page = console.post(f"/console/spaces/bookings/{ref}/cancel", {"reason": reason})
    assert page.status_code == status
    assert sentence in flashes(page.get_data(as_text=True))
    assert "Traceback" not in page.get_data(as_text=True)
    answer = console.api(
        "POST", f"/api/v1/spaces/bookings/{ref}/cancel", token(console), json={"reason": reason}
    )
    assert answer.status_code == status and answer.json["error"]["code"] == code
    if status == 422:
        assert "reason" in answer.json["error"]["details"]["json"]
    assert audit(console, "booking.cancel") == []
    for reader in (ZHANG, ZHAO):
        assert notices(console, reader) == []
    if who in hall:
        assert space_reports.booking(console.services.db(), ref)["status"] != "cancelled"


def test_an_unknown_booking_page_says_so(console: Console) -> None:
    page = logged_in(console).client.get("/console/spaces/bookings/YY123456")
    assert page.status_code == 404
    assert "没有找到预约 YY123456。" in flashes(page.get_data(as_text=True))
    missing = console.api("GET", "/api/v1/spaces/bookings/YY123456", token(console))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


# -- closures --------------------------------------------------------------------------------------


def test_closing_a_room_cancels_its_bookings_and_tells_the_readers(
    console: Console, hall: dict[str, str], clock: Clock
) -> None:
    answer = console.api(
        "POST",
        "/api/v1/spaces/closures",
        token(console),
        json={
            "space_id": "t201",
            "starts_at": "2026-11-23T09:30",
            "ends_at": "2026-11-23T18:00",
            "reason": "投影仪维修",
        },
    )
    assert answer.status_code == 201, answer.json
    closure = answer.json["closure"]
    assert (closure["space_id"], closure["starts_at"], closure["ends_at"]) == (
        "T201",
        "2026-11-23T09:30:00+08:00",
        "2026-11-23T18:00:00+08:00",
    )
    assert closure["in_force"] is False  # from 09:30
    assert [b["ref"] for b in answer.json["affected"]] == [hall["sun"]]
    assert answer.json["affected"][0]["status"] == "cancelled"
    assert answer.json["readers"] == 1
    [notice] = notices(console, SUN)
    assert notice["kind"] == "booking.closed"
    assert "投影仪维修" in notice["payload"]["content"]
    assert "可以改约" in notice["payload"]["content"]  # alternatives offered
    [entry] = audit(console, "space.close")
    assert entry["target"] == "space:T201"
    assert entry["after"]["affected"] == [hall["sun"]] and entry["after"]["reason"] == "投影仪维修"
    # Nobody can book it then, and at 09:30 the grid shows it closed.
    with pytest.raises(BookingError) as refused:
        book(console, Reader("mp", "oGroup"), "13:00", "14:00", "T201", "discussion_room", 3)
    assert refused.value.reason == "closed_space"
    clock.now = at("09:30")
    listed = console.api("GET", "/api/v1/spaces/closures", token(console)).json
    assert [c["space_id"] for c in listed["items"]] == ["T201", "T301"]
    assert all(c["in_force"] for c in listed["items"])


def test_the_closures_page_closes_a_room_and_says_how_many_readers_were_told(
    console: Console, hall: dict[str, str]
) -> None:
    logged_in(console)
    response = console.post(
        "/console/spaces/closures",
        {
            "space_id": "T201",
            "starts_at": "2026-11-23T09:30",
            "ends_at": "2026-11-23T18:00",
            "reason": "投影仪维修",
        },
        follow_redirects=True,
    )
    said = flashes(response.get_data(as_text=True))
    assert said == [
        "已暂停开放 T201 201 研讨间（2026-11-23 09:30 至 2026-11-23 18:00）。"
        "受影响的预约 1 个，已通知 1 位读者（未开始的已取消，并推荐了其他时间或空间）。"
    ]
    page = response.get_data(as_text=True)
    assert re.findall(r'<tr data-closure="(\d+)"', page) == ["2", "1"]
    quiet = console.post(
        "/console/spaces/closures",
        {
            "space_id": "M3D",
            "starts_at": "2026-11-24T08:00",
            "ends_at": "2026-11-24T12:00",
            "reason": "设备调试",
        },
        follow_redirects=True,
    )
    assert "这段时间没有预约受影响。" in flashes(quiet.get_data(as_text=True))[0]


OK_FORM = {
    "space_id": "T201",
    "starts_at": "2026-11-23T13:00",
    "ends_at": "2026-11-23T15:00",
    "reason": "保洁",
}


@pytest.mark.parametrize(
    ("change", "field", "sentence"),
    [
        ({"space_id": "T999"}, "space_id", "没有编号为 T999 的空间，请核对。"),
        ({"space_id": " "}, "space_id", "请填写空间编号。"),
        ({"ends_at": "2026-11-23T12:00"}, "ends_at", "结束时间须晚于开始时间。"),
        ({"ends_at": "2026-11-23T13:00"}, "ends_at", "结束时间须晚于开始时间。"),
        (
            {"starts_at": "2026-11-22T13:00", "ends_at": "2026-11-22T15:00"},
            "ends_at",
            "结束时间已经过去了，请检查日期。",
        ),
        ({"reason": "  "}, "reason", "请写明原因（读者会收到）。"),
        ({"starts_at": "明天下午"}, "starts_at", "请填写开始时间（日期和时间）。"),
    ],
)
def test_a_closure_with_bad_input_is_refused_precisely(
    console: Console, hall: dict[str, str], change: dict[str, str], field: str, sentence: str
) -> None:
    form = OK_FORM | change
    logged_in(console)
    page = console.post("/console/spaces/closures", form)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert flashes(text) == [sentence]
    assert f'value="{form["space_id"]}"' in text  # what was typed stays in the form
    answer = console.api("POST", "/api/v1/spaces/closures", token(console), json=form)
    assert answer.status_code == 422 and answer.json["error"]["code"] == "invalid"
    assert field in json.dumps(answer.json["error"]["details"])
    assert len(space_staff.closures(console.services.db(), console.services.now())) == 1
    assert notices(console, SUN) == [] and audit(console, "space.close") == []


def test_a_closure_is_lifted_early_once(
    console: Console, hall: dict[str, str], clock: Clock
) -> None:
    key = token(console)
    [current] = space_staff.closures(console.services.db(), clock.now)
    lifted = console.api("DELETE", f"/api/v1/spaces/closures/{current['id']}", key)
    assert lifted.status_code == 200
    assert lifted.json["lifted_at"] == "2026-11-23T09:05:00+08:00"
    assert lifted.json["lifted_by"] == "staff:ann" and lifted.json["in_force"] is False
    again = console.api("DELETE", f"/api/v1/spaces/closures/{current['id']}", key)
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    assert console.api("DELETE", "/api/v1/spaces/closures/99", key).status_code == 404
    [entry] = audit(console, "space.lift")
    assert entry["before"]["lifted_at"] is None
    assert entry["after"]["lifted_at"] == "2026-11-23T09:05:00+08:00"
    assert book(console, Reader("mp", "oPair"), "10:00", "11:00", "T301", "discussion_room", 2)
    everything = console.api("GET", "/api/v1/spaces/closures?all=true", key).json
    assert (
        everything["total"] == 1
        and console.api("GET", "/api/v1/spaces/closures", key).json["total"] == 0
    )


def test_the_lift_button_on_the_page(console: Console, hall: dict[str, str]) -> None:
    logged_in(console)
    page = console.client.get("/console/spaces/closures").get_data(as_text=True)
    assert "<b>进行中</b>" in page and "更换空调滤网" in page
    done = console.post("/console/spaces/closures/1/lift", follow_redirects=True)
    assert flashes(done.get_data(as_text=True)) == ["已解除 T301 的暂停开放，读者可以重新预约了。"]
    twice = console.post("/console/spaces/closures/1/lift", follow_redirects=True)
    assert flashes(twice.get_data(as_text=True)) == ["这条暂停开放已经解除或已经结束了。"]
    unknown = console.post("/console/spaces/closures/42/lift", follow_redirects=True)
    assert flashes(unknown.get_data(as_text=True)) == ["没有编号为 42 的暂停开放记录。"]


# -- violations ------------------------------------------------------------------------------------


@pytest.fixture
def no_show(console: Console, hall: dict[str, str], clock: Clock) -> int:
    """王 did not come to A003: released at 09:15 with a violation."""
    clock.now = at("09:15")
    changed = presence.settle(console.services.db(), spaces_of(console.services), clock.now)
    assert [b["ref"] for b in changed["no_show"]] == [hall["wang"]]
    [row] = space_reports.violations(console.services.db())[0]
    return int(row["id"])


def test_violations_are_listed_and_waived_with_a_reason(
    console: Console, hall: dict[str, str], no_show: int
) -> None:
    key = token(console)
    listed = console.api("GET", "/api/v1/spaces/violations", key).json
    [item] = listed["items"]
    assert (item["kind"], item["booking_ref"], item["space_id"]) == (
        "no_show",
        hall["wang"],
        "A003",
    )
    assert item["reader"]["user_id"] == "oWang" and item["waived_at"] is None
    logged_in(console)
    page = console.client.get("/console/spaces/violations").get_data(as_text=True)
    assert f'<tr data-violation="{no_show}"' in page and "未签到" in page
    done = console.post(
        f"/console/spaces/violations/{no_show}/waive",
        {"reason": "读者身体不适，有校医院证明", "back": "/console/spaces/violations?state=all"},
    )
    assert done.headers["Location"] == "/console/spaces/violations?state=all"
    page = console.client.get(done.headers["Location"]).get_data(as_text=True)
    assert flashes(page) == [f"已免除违约 #{no_show}，不再计入暂停预约的次数。"]
    assert "已免除：读者身体不适，有校医院证明（staff:ann）" in page
    [entry] = audit(console, "violation.waive")
    assert entry["target"] == f"violation:{no_show}"
    assert entry["before"] == {"waived_at": None, "waived_by": None, "waive_reason": None}
    assert entry["after"]["waived_by"] == "staff:ann"
    assert console.api("GET", "/api/v1/spaces/violations", key).json["total"] == 0
    assert console.api("GET", "/api/v1/spaces/violations?state=waived", key).json["total"] == 1
    again = console.api(
        "POST", f"/api/v1/spaces/violations/{no_show}/waive", key, json={"reason": "再免一次"}
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"


def test_a_waive_without_a_reason_or_of_nothing_is_refused(console: Console, no_show: int) -> None:
    key = token(console)
    logged_in(console)
    blank = console.post(f"/console/spaces/violations/{no_show}/waive", {"reason": " "})
    page = console.client.get(blank.headers["Location"]).get_data(as_text=True)
    assert flashes(page) == ["请写明免除的原因。"]
    empty = console.api("POST", f"/api/v1/spaces/violations/{no_show}/waive", key, json={})
    assert empty.status_code == 422 and "reason" in empty.json["error"]["details"]["json"]
    unknown = console.api(
        "POST", "/api/v1/spaces/violations/999/waive", key, json={"reason": "误记"}
    )
    assert unknown.status_code == 404
    elsewhere = console.post(
        f"/console/spaces/violations/{no_show}/waive", {"reason": "x", "back": "//evil.example/"}
    )
    assert elsewhere.headers["Location"] == "/console/spaces/violations"
    assert audit(console, "violation.waive")[0]["after"]["waive_reason"] == "x"


# -- roles and privacy -----------------------------------------------------------------------------


def test_counsellors_may_look_but_not_change(console: Console, hall: dict[str, str]) -> None:
    logged_in(console, "carl")
    for path in (
        "/console/spaces/",
        "/console/spaces/bookings",
        f"/console/spaces/bookings/{hall['zhao']}",
        "/console/spaces/closures",
        "/console/spaces/violations",
        "/console/spaces/stats",
        "/console/spaces/bookings.csv",
    ):
        response = console.client.get(path)
        assert response.status_code == 200, path
        assert 'id="cancel-form"' not in response.get_data(as_text=True)
        assert 'id="close-form"' not in response.get_data(as_text=True)
    refused = console.post(f"/console/spaces/bookings/{hall['zhao']}/cancel", {"reason": "x"})
    assert refused.status_code == 403
    assert console.post("/console/spaces/closures", OK_FORM).status_code == 403
    assert console.post("/console/spaces/closures/1/lift").status_code == 403
    key = token(console, "carl")
    assert console.api("GET", "/api/v1/spaces/occupancy", key).status_code == 200
    for method, path, body in [
        ("POST", f"/api/v1/spaces/bookings/{hall['zhao']}/cancel", {"reason": "x"}),
        ("POST", "/api/v1/spaces/closures", OK_FORM),
        ("DELETE", "/api/v1/spaces/closures/1", None),
        ("POST", "/api/v1/spaces/violations/1/waive", {"reason": "x"}),
    ]:
        answer = console.api(method, path, key, json=body)
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden", path
    assert space_reports.booking(console.services.db(), hall["zhao"])["status"] == "booked"
    # Staff and admins see the forms.
    other = Console(console.app)
    logged_in(other, "ada")
    page = other.client.get(f"/console/spaces/bookings/{hall['zhao']}").get_data(as_text=True)
    assert 'id="cancel-form"' in page


def test_nobody_without_a_staff_login_or_token_sees_who_holds_a_seat(
    console: Console, hall: dict[str, str], no_show: int
) -> None:
    pages = routes(console.app, "/console/spaces")
    endpoints = routes(console.app, "/api/v1/spaces")
    assert len(pages) == 11 and len(endpoints) == 11  # every page and endpoint here is checked
    stranger = Console(console.app)
    for method, sample in pages + endpoints:
        path = sample.replace("/bookings/1", f"/bookings/{hall['zhang']}")
        path = path.replace("/violations/1", f"/violations/{no_show}")
        response = stranger.api(method, path, headers={"Authorization": "Bearer gb_wrong"})
        body = response.get_data(as_text=True)
        assert response.status_code in (302, 400, 401), (method, path)
        for secret in ("张晓", "2023011234", "oZhang", "oWang"):
            assert secret not in body, (method, path)


# -- statistics ------------------------------------------------------------------------------------


@pytest.fixture
def used_monday(console: Console, clock: Clock) -> None:
    """A Monday's use, made the way readers and the scheduler make it."""
    db, spaces = console.services.db(), spaces_of(console.services)
    book(console, ZHANG, "08:00", "10:00", "A001")  # in 08:10–10:00
    book(console, WANG, "09:00", "11:00", "A002")  # never came
    book(console, LI, "08:30", "10:30", "A003")  # in 08:30, left at 09:30
    skipped = book(console, ZHAO, "14:00", "15:00", "A004")  # cancelled by the reader
    book(console, SUN, "10:00", "11:00", "T201", "discussion_room", 3)  # in 10:00–11:00
    bookings.cancel(db, skipped, "reader", "", at("07:30"))
    presence.check_in(db, spaces, ZHANG, at("08:10"))
    presence.check_in(db, spaces, LI, at("08:30"))
    presence.settle(db, spaces, at("09:15"))
    presence.release(db, spaces, LI, at("09:30"))
    presence.settle(db, spaces, at("10:00"))
    presence.check_in(db, spaces, SUN, at("10:00"))
    presence.settle(db, spaces, at("11:00"))
    clock.now = at("20:00")


def test_utilisation_per_space_hour_and_no_shows(console: Console, used_monday: None) -> None:
    services = console.services
    figures = space_utilisation.utilisation(
        services.db(), spaces_of(services), MONDAY, MONDAY, calendar=services.calendar
    )
    per = {s["id"]: s for s in figures["spaces"]}
    assert {
        i: (per[i]["bookings"], per[i]["booked_minutes"], per[i]["used_minutes"])
        for i in (
            "A001",
            "A002",
            "A003",
            "A004",
            "T201",
        )
    } == {
        "A001": (1, 120, 110),
        "A002": (1, 15, 0),  # held until given up at the check-in deadline
        "A003": (1, 60, 60),  # released at 09:30
        "A004": (0, 0, 0),  # a cancelled booking holds nothing
        "T201": (1, 60, 60),
    }
    assert per["A001"]["open_minutes"] == 930  # 07:00–22:30
    assert per["A001"]["booked_share"] == round(120 / 930, 4)
    assert per["A002"]["no_shows"] == 1
    hours = {h["hour"]: (h["booked"], h["used"]) for h in figures["hours"]}
    assert [hours[h] for h in (7, 8, 9, 10, 11)] == [
        (0, 0),
        (2, 2),
        (3, 2),
        (1, 1),
        (0, 0),
    ]
    assert figures["no_show"] == {"due": 4, "no_shows": 1, "rate": 0.25}
    k3 = next(z for z in figures["zones"] if z["id"] == "K3")
    assert (k3["bookings"], k3["booked_minutes"], k3["used_minutes"]) == (3, 195, 170)
    # Over two days, the hours are averaged per day; one type alone leaves out the rest.
    two = space_utilisation.utilisation(
        services.db(), spaces_of(services), MONDAY, TUESDAY, calendar=services.calendar
    )
    assert two["days"] == 2 and two["hours"][9]["booked"] == 1.5
    rooms = space_utilisation.utilisation(
        services.db(), spaces_of(services), MONDAY, MONDAY, space_type="discussion_room"
    )
    assert {s["id"] for s in rooms["spaces"]} == {
        s.id for s in spaces_of(services).of_type("discussion_room")
    }
    assert rooms["spaces"][0]["booked_share"] is None  # without a calendar, no shares


def test_the_statistics_page_and_api(console: Console, used_monday: None) -> None:
    answer = console.api(
        "GET", "/api/v1/spaces/stats?day_from=2026-11-23&day_to=2026-11-23", token(console)
    )
    assert answer.status_code == 200
    assert answer.json["no_show"]["rate"] == 0.25 and answer.json["days"] == 1
    default = console.api("GET", "/api/v1/spaces/stats", token(console)).json
    assert (default["first_day"], default["last_day"]) == ("2026-11-17", "2026-11-23")
    backwards = console.api(
        "GET", "/api/v1/spaces/stats?day_from=2026-11-23&day_to=2026-11-01", token(console)
    )
    assert backwards.status_code == 422 and "day_to" in json.dumps(backwards.json)
    page = (
        logged_in(console)
        .client.get("/console/spaces/stats?day_from=2026-11-23&day_to=2026-11-23")
        .get_data(as_text=True)
    )
    assert "<script" not in page
    spaces_chart = page.split('id="spaces-chart"')[1].split("</div>\n</div>")[0]
    assert re.findall(r'class="share" data-label="([^"]+)"', spaces_chart) == [
        "A001",
        "A003",
        "201 研讨间",
        "A002",
    ]  # only those booked, the busiest first
    assert '<div class="value" id="no-show-rate">25%</div>' in page
    hours = page.split('id="hours-chart"')[1].split("</svg>")[0]
    assert "9:00–10:00 平均每天 已预约 3.0 个、使用中 2.0 个" in hours
    rows = re.findall(r'<tr data-space="(\w+)">', page)
    assert rows[:4] == ["A001", "A003", "T201", "A002"]  # busiest first, only those booked
    assert f"另有 {len(spaces_of(console.services).spaces) - 4} 个空间没有预约" in page
    odd = console.client.get("/console/spaces/stats?day_from=23.11.2026&type=sofa")
    assert odd.status_code == 200
    assert flashes(odd.get_data(as_text=True)) == [
        "没有这个空间类型，已显示全部类型。",
        "开始日期的格式不对，请用日期选择器填写。",
    ]


# -- CSV -------------------------------------------------------------------------------------------


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_export_holds_every_matching_booking(
    console: Console, hall: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(space_export, "CSV_CHUNK", 2)  # read in several pieces
    db = console.services.db()
    users.update_profile(db, "mp", "oLi", name='=HYPERLINK("http://x","李四")')
    answer = console.api("GET", "/api/v1/spaces/bookings.csv?day_from=2026-11-23", token(console))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    table = read_csv(answer.data)
    assert table[0][:9] == [
        "预约号",
        "日期",
        "开始",
        "结束",
        "空间编号",
        "空间名称",
        "区域",
        "类型",
        "状态",
    ]
    assert [row[0] for row in table[1:]] == [
        hall["li"],
        hall["zhang"],
        hall["wang"],
        hall["sun"],
        hall["zhao"],
    ]
    zhang = dict(zip(table[0], table[2], strict=True))
    assert (zhang["读者姓名"], zhang["学号"], zhang["状态"], zhang["区域"]) == (
        "张晓",
        "2023011234",
        "使用中",
        "三楼考研自习区",
    )
    assert zhang["签到时间"] == "2026-11-23 08:35"
    li = dict(zip(table[0], table[1], strict=True))
    assert li["读者姓名"] == '\'=HYPERLINK("http://x","李四")'  # never a formula
    logged_in(console)
    page = console.client.get("/console/spaces/bookings.csv?day_from=2026-11-23")
    assert page.data == answer.data  # the page's link gives the same file
    only = console.client.get("/console/spaces/bookings.csv?status=checked_in")
    assert [row[0] for row in read_csv(only.data)[1:]] == [hall["zhang"]]
    listing = console.client.get("/console/spaces/bookings?status=checked_in").get_data(
        as_text=True
    )
    assert 'href="/console/spaces/bookings.csv?status=checked_in"' in listing


# -- the API's document ----------------------------------------------------------------------------


def test_the_openapi_document_describes_the_spaces_api(console: Console) -> None:
    from openapi_spec_validator import validate

    document = console.api("GET", "/api/v1/openapi.json", token(console)).json
    validate(document)
    paths = document["paths"]
    for path in (
        "/api/v1/spaces/occupancy",
        "/api/v1/spaces/bookings",
        "/api/v1/spaces/bookings/{ref}",
        "/api/v1/spaces/bookings/{ref}/cancel",
        "/api/v1/spaces/bookings.csv",
        "/api/v1/spaces/closures",
        "/api/v1/spaces/closures/{closure_id}",
        "/api/v1/spaces/violations",
        "/api/v1/spaces/violations/{violation_id}/waive",
        "/api/v1/spaces/stats",
    ):
        assert path in paths, path
    assert "text/csv" in paths["/api/v1/spaces/bookings.csv"]["get"]["responses"]["200"]["content"]
    assert "delete" in paths["/api/v1/spaces/closures/{closure_id}"]
