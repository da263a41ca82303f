"""The dashboard's figures (cards and /api/v1/dashboard/summary), with the clock injected."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import users
from bot.core.clock import isoformat
from bot.core.values import Incoming
from bot.dev.callback_client import WeChatPeer
from bot.wechat import stats
from tests.browser_support import BROWSER_MARKS, PHONE, open_page
from tests.conftest import STAFF_PASSWORD, Clock, Console
from tests.wechat.test_router import NOW, say, send

SUMMARY = "/api/v1/dashboard/summary"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def console(make_app: Any, clock: Clock) -> Console:
    console = Console(make_app(cookie_secure=False, clock=clock))
    console.add_staff("ann", "staff")
    console.add_staff("carl", "counsellor")
    return console


def touch(console: Console, user_id: str, when: Any, channel: str = "mp", event: str = "") -> None:
    kind = "event" if event else "text"
    incoming = Incoming(channel=channel, user_id=user_id, kind=kind, time=when, event=event)
    users.touch(console.services.db(), incoming, when)


def count(console: Console, days_ago: int, intent: str, n: int, channel: str = "mp") -> None:
    for _ in range(n):
        stats.record(console.services.db(), channel, intent, NOW - timedelta(days=days_ago))


@pytest.fixture
def library(console: Console) -> Console:
    """Readers and two weeks of messages around NOW (Monday 2026-11-23 10:00)."""
    touch(console, "oToday", NOW - timedelta(hours=1))
    touch(console, "oSixDays", NOW - timedelta(days=6, hours=23))
    touch(console, "oSevenDays", NOW - timedelta(days=7))  # exactly 7 days ago: still active
    touch(console, "oJustOver", NOW - timedelta(days=7, minutes=1))
    touch(console, "oMonth", NOW - timedelta(days=29))
    touch(console, "oLongAgo", NOW - timedelta(days=31))
    touch(console, "zhangsan", NOW - timedelta(days=3), channel="work")
    touch(console, "oLeft", NOW - timedelta(days=20))
    touch(console, "oLeft", NOW - timedelta(days=2), event="unsubscribe")  # opens no window
    # Within the last 7 days (17 to 23 November): 40 messages, 9 not understood.
    count(console, 0, "opening_hours", 6)
    count(console, 0, "out_of_scope", 2)
    count(console, 1, "reserve", 8)
    count(console, 2, "opening_hours", 6, channel="work")
    count(console, 3, "ambiguous", 3)
    count(console, 4, "feedback", 5)
    count(console, 5, "out_of_scope", 4)
    count(console, 6, "human", 3)
    count(console, 6, "banned", 2)
    count(console, 6, "greet", 1)
    # Before: in the 14-day chart, not in the 7-day figures.
    count(console, 7, "reserve", 30)
    count(console, 13, "out_of_scope", 7)
    count(console, 14, "help", 50)  # outside both
    return console


EXPECTED = {
    "as_of": "2026-11-23T10:00:00+08:00",
    "active_readers": {"days_7": 4, "days_30": 7},
    "messages_per_day": [
        {"day": f"2026-11-{d:02d}", "count": n}
        for d, n in [
            (10, 7),
            (11, 0),
            (12, 0),
            (13, 0),
            (14, 0),
            (15, 0),
            (16, 30),
            (17, 6),
            (18, 4),
            (19, 5),
            (20, 3),
            (21, 6),
            (22, 8),
            (23, 8),
        ]
    ],
    "top_intents": [
        {"intent": "opening_hours", "label": "查询开馆时间", "count": 12},
        {"intent": "reserve", "label": "预约座位或研讨间", "count": 8},
        {"intent": "feedback", "label": "意见反馈", "count": 5},
        {"intent": "human", "label": "联系人工馆员", "count": 3},
        {"intent": "greet", "label": "打个招呼", "count": 1},
    ],
    "not_understood": {
        "days": 7,
        "messages": 40,
        "out_of_scope": 6,
        "ambiguous": 3,
        "share": 0.225,
        "alert": True,
    },
    "subscribers": {"total": 7, "by_channel": {"mp": 6, "work": 1}},
}


def test_the_summary_has_exact_figures(library: Console) -> None:
    token = library.api_token("carl")  # every staff role sees the dashboard
    response = library.api("GET", SUMMARY, token)
    assert response.status_code == 200
    assert response.json == EXPECTED


def cards_of(html: str) -> dict[str, str]:
    """Each card's title → its text (tags stripped, spaces squeezed)."""
    found = {}
    for section in re.findall(r'<section class="card[^"]*">(.*?)</section>', html, re.S):
        text = " ".join(re.sub(r"<[^>]+>", " ", section).split())
        found[text.split(" ")[0]] = text
    return found


def test_the_cards_show_the_same_figures(library: Console) -> None:
    library.login("ann")
    html = library.client.get("/console/").get_data(as_text=True)
    cards = cards_of(html)
    assert cards["活跃读者（近"].startswith("活跃读者（近 7 天） 4 近 30 天 7 人")
    assert (
        "每日消息（近 14 天） 77 11-10 至 11-23 共 77 条，日均 5.5 条；今天 8 条"
        in cards["每日消息（近"]
    )
    assert cards["读者在问什么（近"].startswith(
        "读者在问什么（近 7 天） 查询开馆时间 查询开馆时间 12；预约座位或研讨间 8；意见反馈 5；"
        "联系人工馆员 3；打个招呼 1"
    )
    assert cards["没听懂的比例（近"].startswith(
        "没听懂的比例（近 7 天） 22.5% 40 条消息中没听懂 6 条、需要追问 3 条；超过 20%"
    )
    assert cards["关注的读者"] == "关注的读者 7 公众号 6 · 企业微信 1"
    # The not-understood card is red and leads to the messages; the chart has 14 bars.
    assert re.search(
        r'<section class="card alert">\s*<div class="muted"><a href="/console/'
        r'unrecognised/">没听懂的比例',
        html,
    )
    chart = re.search(r'aria-label="(10 7，11 0，[^"]*)"', html)
    assert chart is not None and chart.group(1).endswith("22 8，23 8")
    assert html.count("<rect") >= 14


@pytest.mark.parametrize(
    ("understood", "missed", "value", "alert"),
    [(8, 2, "20%", False), (79, 21, "21%", True), (3, 0, "0%", False), (0, 1, "100%", True)],
)
def test_the_alert_is_for_more_than_a_fifth_not_understood(
    console: Console, understood: int, missed: int, value: str, alert: bool
) -> None:
    count(console, 1, "opening_hours", understood)
    count(console, 2, "out_of_scope", missed)
    figures = console.api("GET", SUMMARY, console.api_token("ann")).json["not_understood"]
    assert figures["alert"] is alert
    assert figures["messages"] == understood + missed
    console.login("ann")
    card = cards_of(console.client.get("/console/").get_data(as_text=True))["没听懂的比例（近"]
    assert card.startswith(f"没听懂的比例（近 7 天） {value} ")
    html = console.client.get("/console/").get_data(as_text=True)
    assert ('<section class="card alert">' in html) is alert


def test_an_empty_library_has_no_share_and_no_alert(console: Console) -> None:
    figures = console.api("GET", SUMMARY, console.api_token("ann")).json
    assert figures["not_understood"]["share"] is None
    assert figures["not_understood"]["alert"] is False
    assert figures["active_readers"] == {"days_7": 0, "days_30": 0}
    assert [d["count"] for d in figures["messages_per_day"]] == [0] * 14
    assert figures["top_intents"] == []
    assert figures["subscribers"] == {"total": 0, "by_channel": {}}
    console.login("ann")
    cards = cards_of(console.client.get("/console/").get_data(as_text=True))
    assert cards["没听懂的比例（近"].startswith("没听懂的比例（近 7 天） — ")
    assert cards["读者在问什么（近"] == "读者在问什么（近 7 天） — 还没有消息"


def test_the_figures_follow_the_clock(library: Console, clock: Clock) -> None:
    clock.now = NOW + timedelta(days=7)  # a week later: the last 7 days had no messages
    figures = library.api("GET", SUMMARY, library.api_token("ann")).json
    assert figures["as_of"] == isoformat(clock.now)
    assert figures["active_readers"] == {"days_7": 0, "days_30": 6}
    assert figures["messages_per_day"][0] == {"day": "2026-11-17", "count": 6}
    assert figures["messages_per_day"][-1] == {"day": "2026-11-30", "count": 0}
    assert figures["not_understood"]["messages"] == 0


def test_chatting_through_the_webhook_shows_on_the_dashboard(
    console: Console, mp_peer: WeChatPeer, work_peer: WeChatPeer, clock: Clock
) -> None:
    client = console.client
    for text in ["你好", "今天几点闭馆", "明天几点开门", "asdfgh"]:
        say(client, mp_peer, text, "oWebhook")
    say(client, work_peer, "今天几点闭馆", "lisi")
    send(client, mp_peer, mp_peer.event("oFollower", "subscribe"))
    clock.now = NOW - timedelta(days=1)
    say(client, mp_peer, "你好", "oYesterday")
    clock.now = NOW
    figures = console.api("GET", SUMMARY, console.api_token("ann")).json
    assert figures["active_readers"] == {"days_7": 4, "days_30": 4}
    assert [d["count"] for d in figures["messages_per_day"][-2:]] == [1, 5]
    assert figures["top_intents"][:2] == [
        {"intent": "opening_hours", "label": "查询开馆时间", "count": 3},
        {"intent": "greet", "label": "打个招呼", "count": 2},
    ]
    assert figures["not_understood"] | {"share": None} == {
        "days": 7,
        "messages": 6,
        "out_of_scope": 1,
        "ambiguous": 0,
        "share": None,
        "alert": False,
    }
    assert figures["not_understood"]["share"] == pytest.approx(1 / 6, abs=1e-4)
    assert figures["subscribers"] == {"total": 4, "by_channel": {"mp": 3, "work": 1}}


def test_the_summary_is_documented_and_needs_a_token(console: Console) -> None:
    assert console.api("GET", SUMMARY).status_code == 401
    paths = console.api("GET", "/api/v1/openapi.json", console.api_token("ann")).json["paths"]
    assert "get" in paths[SUMMARY]


# -- in a real browser, on a phone -----------------------------------------------------------------


@pytest.fixture
def served_dashboard(served_bot: Callable[..., str], tmp_path: Path) -> Iterator[str]:
    from bot.core import staff
    from bot.core.clock import system_clock
    from bot.core.db import connect

    url = served_bot(cookie_secure="0")
    db = connect(tmp_path / "served.sqlite3")  # the database conftest's bot_env points at
    now = system_clock()
    staff.create(db, "ann", STAFF_PASSWORD, "staff", now)
    for days in range(14):
        for intent, n in [("suggest_purchase", 40 + days), ("out_of_scope", 20), ("reserve", 9)]:
            for _ in range(n):
                stats.record(db, "mp", intent, now - timedelta(days=days))
    db.close()
    yield url


def browser_test(test: Callable[..., Any]) -> Callable[..., Any]:
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@browser_test
def test_the_dashboard_fits_a_phone(browser: Any, served_dashboard: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    context, page, errors = open_page(browser, PHONE)
    try:
        page.goto(served_dashboard + "/console/")
        page.locator("input[name=username]").fill("ann")
        page.locator("input[name=password]").fill(STAFF_PASSWORD)
        page.locator("button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("概览")
        alert = page.locator("section.card.alert", has_text="没听懂的比例")
        expect(alert).to_be_visible()
        expect(alert.locator("a")).to_have_attribute("href", "/console/unrecognised/")
        expect(page.locator("section.card", has_text="读者在问什么（近")).to_contain_text(
            "荐购图书"
        )
        assert page.locator("section.card svg rect").count() >= 14
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for card in page.locator("section.card").all():
            box = card.bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
