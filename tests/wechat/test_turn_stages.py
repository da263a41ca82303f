"""A message flows one way: understood once, decided, acted on, then remembered in one
transaction (issue 13, point 6). Checked on the SQL the real webhook path runs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core import db as core_db
from bot.dev.callback_client import WeChatPeer
from handlers.tickets import store as tickets
from intents.result import ParseResult
from tests.conftest import Clock
from tests.wechat.test_router import NOW, rows, say

BOOKKEEPING = ("dialog_state", "unrecognised", "message_stats")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement any connection of the app runs, in order."""
    seen: list[str] = []
    lock = threading.Lock()
    connect = core_db.connect

    def traced(path: str | Path) -> Any:
        db = connect(path)

        def record(sql: str) -> None:
            with lock:
                seen.append(" ".join(sql.split()))

        db.conn.set_trace_callback(record)
        return db

    monkeypatch.setattr(core_db, "connect", traced)
    yield seen


@pytest.fixture
def chat(make_app: Any, mp_peer: WeChatPeer) -> Any:
    app = make_app(clock=Clock(NOW))
    router = app.extensions["guanban"].router
    parses: list[str] = []
    real = router.parser

    def counting_parser(text: str, now: Any) -> ParseResult:
        parses.append(text)
        return real(text, now)

    router.parser = counting_parser
    client = app.test_client()
    send = lambda text, user="oStages": say(client, mp_peer, text, user)  # noqa: E731
    return send, parses


def writes_to(statement: str) -> str | None:
    upper = statement.upper()
    if not upper.startswith(("INSERT", "UPDATE", "DELETE")):
        return None
    return next((table for table in BOOKKEEPING if table in statement), None)


def bookkeeping_transactions(seen: list[str]) -> list[list[str]]:
    """The transactions that wrote bookkeeping tables, each as its statements."""
    found, current = [], None
    for statement in seen:
        if statement.startswith("BEGIN"):
            current = []
        elif statement in ("COMMIT", "ROLLBACK") and current is not None:
            if any(writes_to(s) for s in current):
                found.append(current)
            current = None
        elif current is not None:
            current.append(statement)
        else:
            assert writes_to(statement) is None, f"bookkeeping outside a transaction: {statement}"
    return found


def test_a_misunderstood_message_is_remembered_in_one_transaction(
    chat: Any, statements: list[str], tmp_path: Path
) -> None:
    send, parses = chat
    send("你好")
    statements.clear()
    parses.clear()
    send("今天天气怎么样")
    assert parses == ["今天天气怎么样"]  # understood once
    loads = [s for s in statements if s.startswith("SELECT") and "FROM dialog_state" in s]
    assert len(loads) == 1  # the dialog state is read once, in understand
    [transaction] = bookkeeping_transactions(statements)
    written = [writes_to(s) for s in transaction if writes_to(s)]
    assert written == ["unrecognised", "dialog_state", "message_stats"]
    assert rows(tmp_path, "SELECT count(*) FROM unrecognised") == [(1,)]


def test_an_action_runs_before_its_turn_is_remembered(
    chat: Any, statements: list[str], tmp_path: Path
) -> None:
    send, _ = chat
    send("转人工")
    statements.clear()
    send("我的借书证丢了怎么办")  # the question after 转人工 goes into the hand-off ticket
    ticket_write = next(
        i for i, s in enumerate(statements) if s.startswith(("INSERT", "UPDATE")) and "ticket" in s
    )
    remembered = next(i for i, s in enumerate(statements) if writes_to(s) == "dialog_state")
    assert ticket_write < remembered
    # The hand-off's action writes, so it is no quick turn: its claim comes before the action.
    claim = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO inbound"))
    assert claim < ticket_write
    assert rows(tmp_path, "SELECT count(*) FROM tickets WHERE kind = ?", tickets.HANDOFF)[0][0] == 1


def test_a_failed_count_keeps_the_rest_of_the_turn(
    chat: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    send, _ = chat
    send("你好")
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        db.execute("DROP TABLE message_stats")
    answer = send("我要反馈")
    assert answer.startswith("请说说你的意见")  # the form's question, not BUSY
    [(active_form,)] = rows(tmp_path, "SELECT active_form FROM dialog_state")
    assert active_form  # the form was remembered although the count failed
    assert "could not count a message" in caplog.text


def test_a_quick_turn_is_claimed_remembered_and_kept_in_one_transaction(
    chat: Any, statements: list[str], tmp_path: Path
) -> None:
    send, _ = chat
    send("你好")
    statements.clear()
    answer = send("今天几点闭馆")
    [transaction] = bookkeeping_transactions(statements)
    [kept] = [s for s in transaction if s.startswith("INSERT INTO inbound")]
    assert transaction.index(kept) == len(transaction) - 1  # after the rows it answers for
    outside = [s for s in statements if s.startswith(("INSERT", "UPDATE")) and s not in transaction]
    assert outside == []  # no claim before, no reply stored after: one commit
    [(reply, status)] = rows(
        tmp_path, "SELECT reply, status FROM inbound ORDER BY rowid DESC LIMIT 1"
    )
    assert status == "answered" and answer.splitlines()[0] in reply
    statements.clear()
    send("今天几点闭馆", "oNewReader")  # a first contact creates the reader in it too
    [transaction] = bookkeeping_transactions(statements)
    assert any(s.startswith("INSERT INTO users") for s in transaction)
    outside = [s for s in statements if s.startswith(("INSERT", "UPDATE")) and s not in transaction]
    assert outside == []
    assert rows(tmp_path, "SELECT count(*) FROM users WHERE user_id = 'oNewReader'") == [(1,)]


def test_a_turn_whose_remembering_fails_still_stores_its_reply(
    chat: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    send, _ = chat
    send("你好")
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        db.execute("DROP TABLE dialog_state")
    answer = send("今天几点闭馆")
    assert answer == "系统繁忙，请稍后再试。"  # the state is lost: the reply would be a lie
    [(reply, status)] = rows(
        tmp_path, "SELECT reply, status FROM inbound ORDER BY rowid DESC LIMIT 1"
    )
    assert status == "answered" and "系统繁忙" in reply  # a resend gets the same answer


def test_a_quick_turn_that_loses_the_claim_drops_its_writes_and_answers_with_the_winners(
    make_app: Any, mp_peer: WeChatPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.wechat import inbox
    from tests.wechat.test_router import send

    client = make_app(clock=Clock(NOW)).test_client()
    assert say(client, mp_peer, "你好", "oLoser")
    # Another worker claims and answers the callback between this one's check and its commit.
    callback = mp_peer.text("oLoser", "今天几点闭馆", msg_id="77000001")
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        db.execute(
            "INSERT INTO inbound (dedup_key, channel, user_id, kind, received_at, reply, status)"
            " VALUES ('mp:msg:77000001', 'mp', 'oLoser', 'text', '2026-11-23T10:00:00+08:00',"
            ' \'{"type": "text", "content": "the winner"}\', \'answered\')'
        )
    before = rows(tmp_path, "SELECT sum(count) FROM message_stats")
    monkeypatch.setattr(inbox, "is_claimed", lambda db, incoming: False)
    assert send(client, mp_peer, callback) == "the winner"
    assert rows(tmp_path, "SELECT sum(count) FROM message_stats") == before  # rolled back
    assert rows(tmp_path, "SELECT count(*) FROM inbound WHERE dedup_key = 'mp:msg:77000001'") == [
        (1,)
    ]
