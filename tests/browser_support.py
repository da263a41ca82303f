"""Real Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright
(browsers are never downloaded; `make test` installs chromium when it is missing).

    from tests.browser_support import BROWSER_MARKS, open_page
    pytestmark = BROWSER_MARKS   # the `browser` fixture comes through tests/conftest.py
"""

from __future__ import annotations

from collections.abc import Iterator
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

BROWSER_MARKS = [
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


LAPTOP = {"width": 1280, "height": 800}


def open_page(browser: Any, viewport: dict[str, int] = LAPTOP) -> tuple[Any, Any, list[str]]:
    """A fresh context and page; the list collects JavaScript errors on the page."""
    phone = viewport == PHONE
    context = browser.new_context(
        viewport=viewport,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def reader_writes(url: str, peer: Any, user: str, text: str) -> str:
    """A reader writes to a served bot through its signed 公众号 webhook; returns the answer."""
    import requests

    callback = peer.text(user, text)
    response = requests.post(
        url + callback.url_path,
        data=callback.body.encode(),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert response.status_code == 200
    return str(peer.read_reply(response.text)["Content"])
