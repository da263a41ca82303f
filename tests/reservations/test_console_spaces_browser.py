"""Space reservations in real Chromium: a librarian reads the hall's grid, cancels a booking
with a reason and closes a room; the grid on a phone.

The app is served on 127.0.0.1 by werkzeug in a thread rather than by `python -m bot serve`,
because the grid's states depend on the minute: this app runs on the test's own clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.outbound import outbox
from tests.browser_support import BROWSER_MARKS, PHONE, open_page
from tests.conftest import STAFF_PASSWORD, Clock, Console
from tests.reservations.test_console_spaces import SUN, ZHAO, at, make_console, seed_hall

pytestmark = BROWSER_MARKS

COLOURS = {  # the grid's states, as spaces.html paints them
    "in_use": "rgb(11, 110, 79)",
    "away": "rgb(79, 127, 217)",
    "booked": "rgb(233, 162, 59)",
    "later": "rgb(251, 231, 191)",
    "free": "rgb(255, 255, 255)",
}


@pytest.fixture
def served(make_app: Any) -> Iterator[tuple[str, Console, Clock, dict[str, str]]]:
    from werkzeug.serving import make_server

    clock = Clock(at("07:00"))
    console = make_console(make_app, clock)
    refs = seed_hall(console, clock)  # Monday 09:05
    server = make_server("127.0.0.1", 0, console.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", console, clock, refs
    finally:
        server.shutdown()
        thread.join(timeout=10)


def log_in(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/console/login")
    page.locator("input[name=username]").fill("ann")
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("概览")


def background(page: Any, space_id: str) -> str:
    return str(
        page.locator(f"[data-space={space_id}]").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
    )


def test_a_librarian_reads_the_grid_cancels_a_booking_and_closes_a_room(
    browser: Any, served: tuple[str, Console, Clock, dict[str, str]], tmp_path: Any
) -> None:
    from playwright.sync_api import expect

    url, console, clock, refs = served
    context, page, errors = open_page(browser)
    try:
        log_in(page, url)
        expect(page.locator(".card", has_text="今日空间预约")).to_contain_text("使用中 1 · 暂离 1")
        page.locator("header nav a", has_text="空间预约").click()
        expect(page.locator("h1")).to_have_text("空间预约")
        seats = len(console.services.spaces.of_type("seat"))
        expect(page.locator(".seats [data-space]")).to_have_count(seats)
        rooms = len(console.services.spaces.spaces) - seats
        expect(page.locator(".tiles [data-space]")).to_have_count(rooms)
        for space_id, state in [
            ("A001", "in_use"),
            ("A002", "away"),
            ("A003", "booked"),
            ("A004", "later"),
            ("A005", "free"),
        ]:
            assert background(page, space_id) == COLOURS[state], space_id
        expect(page.locator("[data-space=A001]")).to_have_attribute(
            "title", "A001 · 使用中 · 08:30–11:30 · 张晓（2023011234） · 今日 1 个预约"
        )
        expect(page.locator("[data-space=T301]")).to_contain_text("更换空调滤网")
        page.screenshot(path=str(tmp_path / "spaces-grid.png"), full_page=True)

        # A004 this afternoon: its cell opens the booking, which is cancelled with a reason.
        page.locator("[data-space=A004]").click()
        expect(page.locator("h1")).to_have_text(f"预约 {refs['zhao']}")
        page.locator("#cancel-booking").click()  # no reason yet: the browser asks for one
        expect(page.locator("#status")).to_have_text("待签到")
        page.locator("#cancel-reason-text").fill("该区域下午临时用于考试")
        page.locator("#cancel-booking").click()
        expect(page.locator(".flash")).to_have_text(f"已取消预约 {refs['zhao']}，已通知读者。")
        expect(page.locator("#status")).to_have_text("已取消")
        expect(page.locator("#cancel-reason")).to_contain_text("该区域下午临时用于考试")
        [notice] = outbox.for_recipient(console.services.db(), ZHAO.channel, ZHAO.user_id)
        assert "该区域下午临时用于考试" in notice["payload"]["content"]

        # Close T201 (the group's room at 10:00) from 09:30 for the day.
        page.goto(url + "/console/spaces/closures")
        page.locator("#close-space").fill("T201")
        page.locator("#close-starts").fill("2026-11-23T09:30")
        page.locator("#close-ends").fill("2026-11-23T18:00")
        page.locator("#close-reason").fill("投影仪维修")
        page.locator("#close-space-button").click()
        expect(page.locator(".flash")).to_contain_text("受影响的预约 1 个，已通知 1 位读者")
        expect(page.locator("#closures tr[data-closure]")).to_have_count(2)
        [notice] = outbox.for_recipient(console.services.db(), SUN.channel, SUN.user_id)
        assert "投影仪维修" in notice["payload"]["content"]

        clock.now = at("09:30")
        page.goto(url + "/console/spaces/?zone=T")
        expect(page.locator("[data-space=T201]")).to_have_class("closed")
        expect(page.locator("[data-space=T201]")).to_contain_text("投影仪维修")
        assert errors == [], errors
    finally:
        context.close()


def test_the_grid_and_the_lists_fit_a_phone(
    browser: Any, served: tuple[str, Console, Clock, dict[str, str]], tmp_path: Any
) -> None:
    from playwright.sync_api import expect

    url, console, _, refs = served
    context, page, errors = open_page(browser, PHONE)
    try:
        log_in(page, url)
        page.goto(url + "/console/spaces/")
        seats = console.services.spaces.of_type("seat")
        expect(page.locator(".seats [data-space]")).to_have_count(len(seats))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        cell = page.locator("[data-space=A001]").bounding_box()
        assert cell["width"] >= 24 and cell["height"] >= 24  # a finger can find it
        legend = page.locator("#legend")
        expect(legend).to_be_visible()
        assert legend.bounding_box()["width"] <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "spaces-phone.png"), full_page=True)
        page.locator("[data-space=A003]").tap()
        expect(page.locator("h1")).to_have_text(f"预约 {refs['wang']}")
        for path in (
            "/console/spaces/bookings",
            "/console/spaces/closures",
            "/console/spaces/stats",
        ):
            page.goto(url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        expect(page.locator("#hours-chart svg")).to_be_visible()
        assert errors == [], errors
    finally:
        context.close()
