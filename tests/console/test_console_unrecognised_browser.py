"""A librarian teaches the bot in real Chromium, against `python -m bot serve`: a reader says
something the bot does not understand (through the signed webhook), the librarian logs in,
labels it on the page, sees it marked labelled, and exports it into a labels folder under
tmp_path (LIBBOT_LABELS_DIR) with the button."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.db import connect
from bot.dev.callback_client import WeChatPeer
from intents import unrecognised
from intents.result import ParseResult
from tests.browser_support import BROWSER_MARKS, open_page, reader_writes
from tests.conftest import STAFF_PASSWORD

pytestmark = BROWSER_MARKS

READER = "oBrowserReader"
OFF_TOPIC = "食堂的饭越来越贵了"


@pytest.fixture
def served(served_bot: Callable[..., str], tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """The served bot with its labels folder in tmp_path, an account for ann and one
    message the bot could not tell apart, seeded in its database beforehand."""
    from bot.core import staff
    from bot.core.clock import system_clock

    labels = tmp_path / "labels"
    url = served_bot(cookie_secure="0", labels_dir=str(labels))
    db = connect(tmp_path / "served.sqlite3")  # conftest's bot_env database, migrated by serve
    now = system_clock()
    staff.create(db, "ann", STAFF_PASSWORD, "staff", now)
    guesses = (("opening_hours", 0.41), ("out_of_scope", 0.3))
    parse = ParseResult("期末考试周图书馆会延长开放吗", "opening_hours", 0.41, (), guesses)
    seeded = unrecognised.record(
        db, "mp", "oSeededReader", parse, unrecognised.AMBIGUOUS, now - timedelta(hours=2)
    )
    db.close()
    yield url, labels, seeded


def reader_says(url: str, peer: WeChatPeer, text: str) -> str:
    return reader_writes(url, peer, READER, text)


def log_in(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/console/login")
    page.locator("input[name=username]").fill("ann")
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("概览")


def test_a_librarian_labels_a_message_and_exports_it(
    browser: Any, served: tuple[str, Path, int], mp_peer: WeChatPeer
) -> None:
    from playwright.sync_api import expect

    from bot.wechat import words as messages

    url, labels, seeded = served
    assert reader_says(url, mp_peer, OFF_TOPIC) == messages.NOT_UNDERSTOOD

    context, page, errors = open_page(browser)
    try:
        log_in(page, url)
        card = page.locator(".card", has_text="待标注的消息")
        expect(card.locator(".value")).to_have_text("2")
        card.locator("a").click()
        expect(page.locator("h1")).to_have_text("机器人没听懂的消息")
        rows = page.locator("tr[data-status]")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text(OFF_TOPIC)  # newest first
        assert READER not in page.content()  # who asked is not shown

        said = page.locator("tr[data-status]", has_text=OFF_TOPIC)
        # The select offers every intent by its Chinese name; ann picks feedback.
        said.locator("select[name=intent]").select_option("feedback")
        said.get_by_role("button", name="标注").click()
        expect(page.locator(".flash")).to_have_text("已标注为「意见反馈」。")
        expect(page.locator("tr[data-status]")).to_have_count(1)  # it left the queue

        page.get_by_role("link", name="已标注").click()
        labelled = page.locator("tr[data-status=labelled]")
        expect(labelled).to_have_count(1)
        expect(labelled).to_contain_text(OFF_TOPIC)
        expect(labelled).to_contain_text("已标注：意见反馈")
        expect(labelled).to_contain_text("待导出")
        expect(page.locator("form.export")).to_contain_text("1 条标注待导出")

        page.get_by_role("button", name="导出到训练数据").click()
        expect(page.locator(".flash")).to_contain_text(
            "已导出 1 条标注，写入 1 条新样本（意见反馈 1 条）"
        )
        expect(page.locator("tr[data-status=labelled]")).to_contain_text("已导出")
        # Exporting again writes nothing new.
        page.get_by_role("button", name="导出到训练数据").click()
        expect(page.locator(".flash")).to_have_text("没有新的标注需要导出。")

        # The message seeded beforehand is still waiting, its top guess preselected.
        page.get_by_role("link", name="待标注").click()
        waiting = page.locator(f"#row-{seeded}")
        expect(waiting.locator("select[name=intent]")).to_have_value("opening_hours")
        expect(waiting).to_contain_text("查询开馆时间")
    finally:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
    assert (labels / "feedback.txt").read_text(encoding="utf-8") == OFF_TOPIC + "\n"
    assert sorted(p.name for p in labels.iterdir()) == ["feedback.txt"]
    # Where it came from, for the record: the audit log names ann.
    db = connect(labels.parent / "served.sqlite3")
    actions = [
        (who, action)
        for who, action in db.execute(
            "SELECT username, action FROM audit_log WHERE action LIKE 'unrecognised.%' ORDER BY id"
        ).fetchall()
    ]
    db.close()
    assert actions == [("ann", "unrecognised.label"), ("ann", "unrecognised.export")]
    assert re.fullmatch(r"[^\n]+\n", (labels / "feedback.txt").read_text(encoding="utf-8"))
