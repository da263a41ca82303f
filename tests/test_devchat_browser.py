"""/dev/chat in real Chromium at a phone's size, against `python -m bot serve` in demo mode.

Debian's /usr/bin/chromium is driven by Playwright (browsers are never downloaded; `make test`
installs chromium when it is missing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (`make test` installs it)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Any, served_bot: Callable[..., str]) -> Iterator[tuple[Any, str]]:
    url = served_bot("--workers", "2", demo="1")
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, url
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

    from bot import outbox
    from bot.clock import system_clock
    from bot.db import connect

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
