"""/dev/chat in real Chromium at a phone's size, against `python -m bot serve` in demo mode.

Debian's /usr/bin/chromium is driven by Playwright (browsers are never downloaded; `make test`
installs chromium when it is missing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import BROWSER_MARKS, PHONE, open_page
from tests.conftest import ROOT, delivery_settings

pytestmark = BROWSER_MARKS


def open_phone(browser: Any) -> tuple[Any, Any, list[str]]:
    return open_page(browser, PHONE)


@pytest.fixture
def phone(browser: Any, served_bot: Callable[..., str]) -> Iterator[tuple[Any, str]]:
    url = served_bot("--workers", "2", demo="1")
    context, page, errors = open_phone(browser)
    yield page, url
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


TEMPLATES = """
[templates.seat_reminder]
template_id = "TPL-SEAT-1"
url = "https://lib.example.edu.cn/seats"
keywords = { thing1 = "seat", time2 = "starts" }
"""


@pytest.fixture
def phone_with_fake(
    browser: Any, served_bot: Callable[..., str], fake_wechat: Any, tmp_path: Path
) -> Iterator[tuple[Any, str, Any]]:
    """The served demo sends to the fake WeChat API, as `make run` sets it up; the third
    value plays the scheduler's sender (on the served bot's database)."""
    from bot.core.services import build_services
    from bot.core.settings import Settings
    from bot.outbound.sender import build_sender

    library = tmp_path / "library.toml"
    library.write_text(
        (ROOT / "config" / "library.example.toml").read_text(encoding="utf-8") + TEMPLATES,
        encoding="utf-8",
    )
    url = served_bot(
        "--workers",
        "2",
        demo="1",
        wechat_api_base=fake_wechat.url,
        work_api_base=fake_wechat.url,
        library_config=str(library),
    )
    settings = Settings.from_env(
        **delivery_settings(
            tmp_path,
            fake_wechat.url,
            database=str(tmp_path / "served.sqlite3"),  # conftest's bot_env database
            library_config=str(library),
            mp_send_rate=0,
        )
    )
    sender = build_sender(build_services(settings))
    context, page, errors = open_phone(browser)
    yield page, url, sender
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def bot_bubbles(page: Any) -> Any:
    # Not the "…" bubble shown while a reply is on its way.
    return page.locator("#log .msg.bot:not(.typing) .bubble")


def test_chat_on_a_phone(phone: tuple[Any, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page, url = phone
    page.goto(url + "/dev/chat")
    expect(page.locator("header")).to_contain_text("华北理工大学图书馆")

    # The page fits the phone: no sideways scrolling, composer and menu on screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for selector in ("#composer", ".menu", "#text"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], selector

    page.locator("#text").fill("今天几点闭馆")
    page.locator("#composer button[type=submit]").click()
    expect(page.locator("#log .msg.me .bubble").last).to_have_text("今天几点闭馆")
    expect(bot_bubbles(page)).to_have_count(1)
    expect(bot_bubbles(page).first).to_contain_text("闭馆")
    expect(page.locator("#text")).to_have_value("")

    page.locator(".menu button", has_text="开馆时间").click()
    expect(bot_bubbles(page)).to_have_count(2)
    assert any(word in bot_bubbles(page).last.inner_text() for word in ("开馆", "闭馆"))
    assert page.locator("#log .msg.system", has_text="出错").count() == 0

    shot = tmp_path / "devchat-phone.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_errors_are_shown_in_the_chat(phone: tuple[Any, str]) -> None:
    from playwright.sync_api import expect

    page, url = phone
    page.goto(url + "/dev/chat")
    page.locator("#user").fill("")
    page.locator("#text").fill("你好")
    page.locator("#composer button[type=submit]").click()
    expect(page.locator("#log .msg.system", has_text="出错")).to_contain_text("user")


def test_queued_message_is_pushed_into_the_chat(phone: tuple[Any, str], tmp_path: Path) -> None:
    """A late reply queued in the served bot's outbox shows up through the page's polling."""
    from playwright.sync_api import expect

    from bot.core.clock import system_clock
    from bot.core.db import connect
    from bot.outbound import outbox

    page, url = phone
    page.goto(url + "/dev/chat")
    expect(page.locator("#log .msg.system").first).to_be_visible()
    db = connect(tmp_path / "served.sqlite3")  # the database conftest's bot_env points at
    outbox.enqueue(
        db,
        channel="mp",
        recipient="oSimulatorReader",
        kind="late_reply",
        payload={"type": "text", "content": "你预约的座位 A101 已确认"},
        idempotency_key="browser-test:1",
        now=system_clock(),
    )
    db.close()
    pushed = page.locator("#log .msg.pushed .bubble")
    expect(pushed).to_contain_text("你预约的座位 A101 已确认", timeout=10_000)
    expect(pushed).to_contain_text("待发送")


def test_pushed_messages_appear_as_the_phone_gets_them(
    phone_with_fake: tuple[Any, str, Any], tmp_path: Path
) -> None:
    """Late replies and notices show up once the fake WeChat API received them: text, news,
    template; one that cannot be delivered is shown grey with its reason."""
    from playwright.sync_api import expect

    from bot.outbound import outbox

    page, url, sender = phone_with_fake
    db = sender.services.db()
    keys = iter(range(1, 100))

    def queue(user: str, payload: dict[str, Any], kind: str = "late_reply") -> None:
        outbox.enqueue(
            db,
            channel="mp",
            recipient=user,
            kind=kind,
            payload=payload,
            idempotency_key=f"browser:{next(keys)}",
            now=sender.services.now(),
        )

    page.goto(url + "/dev/chat")
    status = page.locator("#status")
    pushed = page.locator("#log .msg.pushed .bubble")
    # The reader writes first: the 48-hour window for customer-service messages opens.
    page.locator("#text").fill("你好")
    page.locator("#composer button[type=submit]").click()
    expect(bot_bubbles(page)).to_have_count(1)
    expect(status).to_be_hidden()

    queue("oSimulatorReader", {"type": "text", "content": "座位 A101 已为你保留"})
    expect(status).to_have_text("1 条推送等待发送…")  # queued: nothing reached the phone yet
    expect(pushed).to_have_count(0)
    sender.drain()
    expect(pushed).to_have_count(1)
    expect(pushed.first).to_contain_text("座位 A101 已为你保留")
    expect(pushed.first.locator(".tag")).to_have_text(re.compile(r"^推送 · \d\d:\d\d$"))
    expect(status).to_be_hidden()

    news = {"title": "十一月新书", "description": "三楼东 · 42 种", "url": "https://lib.example"}
    queue("oSimulatorReader", {"type": "news", "articles": [news]}, kind="notice")
    sender.drain()
    card = page.locator("#log .msg.pushed .news")
    expect(card).to_have_count(1)
    expect(card.locator(".title")).to_have_text("十一月新书")
    expect(card.locator(".desc")).to_have_text("三楼东 · 42 种")
    expect(card.locator("a")).to_have_attribute("href", "https://lib.example")

    # Polls go on after both were drawn (the next queued row is seen): nothing is drawn twice.
    queue("oSimulatorReader", {"type": "text", "content": "还有一条"})
    expect(status).to_have_text("1 条推送等待发送…")
    expect(pushed).to_have_count(2)
    sender.drain()
    expect(pushed).to_have_count(3)

    # A reader who never wrote: a template message, and a notice that cannot reach them.
    page.locator("#user").fill("oQuietReader")
    queue(
        "oQuietReader",
        {"type": "text", "content": "座位提醒", "fields": {"seat": "A101", "starts": "10:15"}},
        kind="seat_reminder",
    )
    queue("oQuietReader", {"type": "text", "content": "本周六闭馆"}, kind="notice")
    sender.drain()
    template = page.locator("#log .msg.pushed .template")
    expect(template).to_have_count(1)
    expect(template.locator(".field")).to_have_text(["thing1A101", "time210:15"])
    expect(template.locator("a")).to_have_attribute("href", "https://lib.example.edu.cn/seats")
    grey = page.locator("#log .msg.undelivered .bubble")
    expect(grey).to_have_count(1)
    expect(grey).to_contain_text("本周六闭馆")
    expect(grey.locator(".reason")).to_contain_text("48-hour")
    assert page.locator("#log .msg.system", has_text="出错").count() == 0

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for bubble in (pushed.first, template, grey):
        box = bubble.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    shot = tmp_path / "devchat-pushed.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
