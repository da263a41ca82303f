"""A librarian answers a reader in real Chromium, against `python -m bot serve`: the reader
writes 「转人工」 through the signed webhook, the librarian logs in, opens the ticket, replies;
the sender (run here, on the served bot's database) delivers it to the fake WeChat API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.dev.callback_client import WeChatPeer
from tests.browser_support import BROWSER_MARKS, PHONE, open_page, reader_writes
from tests.conftest import DELIVERY_KEYS, STAFF_PASSWORD, delivery_settings

pytestmark = BROWSER_MARKS

READER = "oBrowserReader"
ALERT_RED = "rgb(180, 35, 24)"  # --alert in console/base.html


@pytest.fixture
def served(
    served_bot: Callable[..., str], fake_wechat: Any, tmp_path: Path
) -> Iterator[tuple[str, Any]]:
    """The served bot sending to the fake WeChat API, an account for ann, and the
    scheduler's sender on the served bot's database."""
    from bot.core import staff
    from bot.core.services import build_services
    from bot.core.settings import Settings
    from bot.outbound.sender import build_sender

    url = served_bot(
        cookie_secure="0",
        wechat_api_base=fake_wechat.url,
        work_api_base=fake_wechat.url,
        **DELIVERY_KEYS,
    )
    settings = Settings.from_env(
        **delivery_settings(
            tmp_path,
            fake_wechat.url,
            database=str(tmp_path / "served.sqlite3"),  # conftest's bot_env database
            mp_send_rate=0,
        )
    )
    sender = build_sender(build_services(settings))
    db = sender.services.db()
    staff.create(db, "ann", STAFF_PASSWORD, "staff", sender.services.now())
    yield url, sender


def say(url: str, peer: WeChatPeer, text: str) -> str:
    return reader_writes(url, peer, READER, text)


def reader_asks(url: str, peer: WeChatPeer, question: str) -> str:
    """「转人工」, then the question (added to the ticket); returns the ticket's reference."""
    found = re.search(r"RG\d{6}", say(url, peer, "转人工"))
    assert found
    assert found.group(0) in say(url, peer, question)
    return found.group(0)


def log_in(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/console/login")
    page.locator("input[name=username]").fill("ann")
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("概览")


def test_a_librarian_answers_a_reader(
    browser: Any,
    served: tuple[str, Any],
    mp_peer: WeChatPeer,
    fake_wechat: Any,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    from handlers.tickets import store as tickets

    url, sender = served
    ref = reader_asks(url, mp_peer, "研究室怎么预约？")
    # And an old feedback nobody answered: overdue.
    now = sender.services.now()
    late = tickets.create(
        sender.services.db(),
        kind=tickets.FEEDBACK,
        channel="mp",
        user_id="oSomeoneElse",
        text="四楼晚上太吵",
        now=now - timedelta(days=2),
        due_in=timedelta(hours=24),
    )

    context, page, errors = open_page(browser)
    try:
        log_in(page, url)
        expect(page.locator(".card.alert", has_text="待处理工单")).to_contain_text(
            "其中 1 件已超时"
        )
        page.locator("header nav a", has_text="工单").click()
        rows = page.locator("#tickets tr[data-ref]")
        expect(rows).to_have_count(2)
        late_due = page.locator(f"tr[data-ref={late}] td.due .overdue")
        expect(late_due).to_have_text(re.compile(r"^已超时 1 天"))
        assert late_due.evaluate("e => getComputedStyle(e).color") == ALERT_RED

        page.locator(f"a[href='/console/tickets/{ref}']").click()
        expect(page.locator("h1")).to_contain_text(ref)
        thread = page.locator("#thread")
        expect(thread).to_contain_text("研究室怎么预约？")
        page.locator("#reply-text").fill("研究室可在座位系统里预约，每次最多 3 小时。")
        page.locator("#send-reply").click()
        expect(page.locator(".flash")).to_contain_text("回复已保存")
        staff_reply = thread.locator("li.staff")
        expect(staff_reply).to_contain_text("研究室可在座位系统里预约，每次最多 3 小时。")
        expect(staff_reply).to_contain_text("待发送")
        expect(page.locator("#owner")).to_have_text("ann")
        assert fake_wechat.messages(to=READER) == []  # queued, not sent by the web process

        sender.drain()
        [message] = fake_wechat.messages(to=READER)
        assert message.channel == "mp" and message.kind == "text"
        assert message.content["text"]["content"] == (
            f"【馆员回复 · {ref}】研究室可在座位系统里预约，每次最多 3 小时。"
        )
        page.reload()
        expect(page.locator("#thread li.staff")).to_contain_text("已发出")
        page.screenshot(path=str(tmp_path / "ticket-detail.png"), full_page=True)
        assert errors == [], errors
    finally:
        context.close()


def test_the_ticket_list_fits_a_phone(
    browser: Any, served: tuple[str, Any], mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from handlers import crisis

    url, sender = served
    reader_asks(url, mp_peer, "想借古籍阅览室的善本")
    from handlers.tickets import store as tickets

    urgent = tickets.create(
        sender.services.db(),
        kind=tickets.HANDOFF,
        channel="mp",
        user_id="oSad",
        text=crisis.TICKET_PREFIX + "我真的撑不下去了",
        now=sender.services.now(),
        due_in=timedelta(hours=1),
    )
    context, page, errors = open_page(browser, PHONE)
    try:
        log_in(page, url)
        expect(page.locator(".card.alert", has_text="危机信号工单")).to_be_visible()
        page.goto(url + "/console/tickets/")
        first = page.locator("#tickets tr[data-ref]").first
        expect(first).to_have_attribute("data-ref", urgent)  # crisis on top, in red
        assert first.locator("td").first.evaluate("e => getComputedStyle(e).color") == ALERT_RED
        expect(page.locator("#tickets th.wide").first).to_be_hidden()
        expect(page.locator("#tickets th", has_text="截止")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "tickets-phone.png"), full_page=True)
        assert errors == [], errors
    finally:
        context.close()
