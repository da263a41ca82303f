"""WeChat's resends racing each other across real worker processes are handled once.

`python -m bot serve --workers 2` runs real gunicorn; several separate OS processes post
the very same callback at the same moment (released together by a Barrier), for many
MsgIds. The database alone decides who handles each one.
"""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.dev.callback_client import WeChatPeer, reply_text

POSTERS = 3
MESSAGES = 20
BARRIER_TIMEOUT = 60


def _poster(
    url: str,
    callbacks: list[tuple[str, str]],
    barrier: Any,
    results: Any,
    index: int,
) -> None:
    """One process: post every callback, each at the moment all posters are ready."""
    with requests.Session() as session:
        for number, (path, body) in enumerate(callbacks):
            barrier.wait(BARRIER_TIMEOUT)
            response = session.post(
                url + path,
                data=body.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=30,
            )
            results.put((index, number, response.status_code, response.text))


def _race(url: str, callbacks: list[tuple[str, str]]) -> list[tuple[int, int, int, str]]:
    """POSTERS processes post every callback at once; (poster, callback, status, body)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(POSTERS)
    results = context.Queue()
    processes = [
        context.Process(target=_poster, args=(url, callbacks, barrier, results, index))
        for index in range(POSTERS)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=BARRIER_TIMEOUT * 2) for _ in range(POSTERS * len(callbacks))]
    for process in processes:
        process.join(BARRIER_TIMEOUT)
        assert process.exitcode == 0
    assert all(status == 200 for _, _, status, _ in answers), answers
    return answers


@pytest.mark.slow
def test_simultaneous_copies_of_a_callback_create_one_ticket_and_one_inbound_row(
    served_bot: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    url = served_bot("--workers", "2")
    msg_ids = [f"88000000{n:04d}" for n in range(MESSAGES)]
    texts = [f"反馈：四楼太吵了请管理一下（第{n}次）" for n in range(MESSAGES)]
    # The very same request, as a resend racing the original would look to the workers.
    callbacks = [
        (cb.url_path, cb.body)
        for cb in (
            mp_peer.text("oRacer", text, msg_id=msg_id)
            for text, msg_id in zip(texts, msg_ids, strict=True)
        )
    ]

    answers = _race(url, callbacks)
    db = sqlite3.connect(tmp_path / "served.sqlite3")
    for number, (msg_id, text) in enumerate(zip(msg_ids, texts, strict=True)):
        tickets = db.execute(
            "SELECT ref FROM tickets WHERE text = ?", [text.removeprefix("反馈：")]
        ).fetchall()
        assert len(tickets) == 1, (msg_id, tickets)
        inbound = db.execute(
            "SELECT status FROM inbound WHERE dedup_key = ?", [f"mp:msg:{msg_id}"]
        ).fetchall()
        assert inbound == [("answered",)], msg_id
        # Every copy says "success" (still being handled) or the one reply, never another.
        replies = {reply_text(mp_peer.read_reply(body)) for _, n, _, body in answers if n == number}
        said = {r for r in replies if r}
        assert len(said) <= 1, replies
        assert all(re.search(rf"编号 {tickets[0][0]}", r) for r in said), (said, tickets)
    assert db.execute("SELECT count(*) FROM tickets").fetchone() == (MESSAGES,)
    assert db.execute("SELECT count(*) FROM inbound").fetchone() == (MESSAGES,)
    assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
    db.close()


@pytest.mark.slow
def test_simultaneous_copies_of_a_quick_message_are_counted_and_kept_once(
    served_bot: Any, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    # A quick turn is claimed in the same transaction that remembers it: the losers of the
    # race roll their writes back and answer with the winner's reply (or "success").
    url = served_bot("--workers", "2")
    msg_ids = [f"88100000{n:04d}" for n in range(MESSAGES)]
    callbacks = [
        (cb.url_path, cb.body)
        for cb in (mp_peer.text("oQuickRacer", "今天几点闭馆", msg_id=m) for m in msg_ids)
    ]
    answers = _race(url, callbacks)
    db = sqlite3.connect(tmp_path / "served.sqlite3")
    for number, msg_id in enumerate(msg_ids):
        inbound = db.execute(
            "SELECT status, reply FROM inbound WHERE dedup_key = ?", [f"mp:msg:{msg_id}"]
        ).fetchall()
        assert [status for status, _ in inbound] == ["answered"], msg_id
        replies = {reply_text(mp_peer.read_reply(body)) for _, n, _, body in answers if n == number}
        said = {r for r in replies if r}
        assert len(said) == 1 and "闭馆" in next(iter(said)), replies  # one answer, never two
    counted = db.execute(
        "SELECT sum(count) FROM message_stats WHERE intent = 'opening_hours'"
    ).fetchone()
    assert counted == (MESSAGES,)
    assert db.execute("SELECT count(*) FROM inbound").fetchone() == (MESSAGES,)
    db.close()
