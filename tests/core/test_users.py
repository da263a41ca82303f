"""Readers remembered: first contact, last interaction, roles, subscription, and races."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import users
from bot.core.clock import TZ
from bot.core.db import connect
from bot.core.values import Incoming
from bot.dev.callback_client import WeChatPeer
from tests.conftest import Clock, post

START = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
READER = "oUsersReader"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def world(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> Any:
    app = make_app(clock=clock)
    client = app.test_client()
    db = app.extensions["guanban"].services.db()

    class World:
        def text(self, words: str, user: str = READER) -> None:
            assert post(client, mp_peer.text(user, words)).status_code == 200

        def event(self, event: str, key: str = "", user: str = READER) -> None:
            # CreateTime from the test's clock: events are told apart by sender and time.
            callback = mp_peer.event(user, event, key, create_time=int(clock.now.timestamp()))
            assert post(client, callback).status_code == 200

        def user(self, user: str = READER, channel: str = "mp") -> dict[str, Any] | None:
            return users.get(db, channel, user)

    return World()


def test_first_message_creates_the_reader(world: Any) -> None:
    assert world.user() is None
    world.text("你好")
    reader = world.user()
    assert reader is not None
    assert reader["first_seen"] == reader["last_interaction"] == START.isoformat()
    assert reader["roles"] == ["reader"]
    assert reader["subscribed"] is True
    assert (reader["channel"], reader["user_id"]) == ("mp", READER)


def test_later_messages_move_last_interaction_only(world: Any, clock: Clock) -> None:
    world.text("你好")
    clock.now = START + timedelta(hours=30)
    world.text("几点开门")
    reader = world.user()
    assert reader["first_seen"] == START.isoformat()
    assert reader["last_interaction"] == (START + timedelta(hours=30)).isoformat()


def test_menu_clicks_count_as_interaction(world: Any, clock: Clock) -> None:
    world.text("你好")
    clock.now = START + timedelta(days=3)
    world.event("CLICK", "HOURS")
    assert world.user()["last_interaction"] == (START + timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    ("events", "subscribed"),
    [
        ([("subscribe", "")], True),
        ([("subscribe", ""), ("unsubscribe", "")], False),
        ([("subscribe", ""), ("unsubscribe", ""), ("subscribe", "")], True),
        ([("unsubscribe", "")], False),
        ([("unsubscribe", ""), ("subscribe", "qrscene_seat:A101")], True),
        ([("unsubscribe", ""), ("CLICK", "HOURS")], False),  # other events change nothing
    ],
)
def test_subscribe_and_unsubscribe_flip_subscribed(
    world: Any, clock: Clock, events: list[tuple[str, str]], subscribed: bool
) -> None:
    for second, (event, key) in enumerate(events):
        clock.now = START + timedelta(seconds=second)
        world.event(event, key)
    assert world.user()["subscribed"] is subscribed


def test_unfollowing_does_not_count_as_an_interaction(world: Any, clock: Clock) -> None:
    world.text("你好")
    clock.now = START + timedelta(hours=30)
    world.event("unsubscribe")
    reader = world.user()
    assert reader["subscribed"] is False
    # WeChat's 48-hour customer-service window opened with the message, not the unfollow.
    assert reader["last_interaction"] == START.isoformat(timespec="seconds")


def test_channels_keep_their_own_readers(
    make_app: Any, mp_peer: WeChatPeer, work_peer: WeChatPeer, clock: Clock
) -> None:
    app = make_app(clock=clock)
    client = app.test_client()
    post(client, mp_peer.text("same-id", "你好"))
    post(client, work_peer.text("same-id", "你好"))
    db = app.extensions["guanban"].services.db()
    assert users.get(db, "mp", "same-id") is not None
    assert users.get(db, "work", "same-id") is not None
    assert db.execute("SELECT count(*) FROM users").fetchone() == (2,)


def test_roles_and_profile_are_checked(world: Any, make_app: Any) -> None:
    world.text("你好")
    db = make_app().extensions["guanban"].services.db()
    users.set_roles(db, "mp", READER, ["staff", "reader", "staff"])
    users.update_profile(db, "mp", READER, name="张三", reader_type="student")
    reader = world.user()
    assert reader["roles"] == ["reader", "staff"]
    assert (reader["name"], reader["reader_type"]) == ("张三", "student")
    with pytest.raises(ValueError, match="unknown roles"):
        users.set_roles(db, "mp", READER, ["librarian-in-chief"])
    with pytest.raises(ValueError, match="unknown profile fields"):
        users.update_profile(db, "mp", READER, password="x")


# -- two workers, one reader's first two messages at once -------------------------------------

PROCESSES = 4
ROUNDS = 15


def _touch_together(database: str, barrier: Any, results: Any) -> None:
    db = connect(database)
    for round_number in range(ROUNDS):
        incoming = Incoming(
            channel="mp",
            user_id=f"oRacer{round_number}",
            kind="text",
            time=START,
            text="你好",
            message_id=f"{round_number}",
        )
        barrier.wait(60)
        users.touch(db, incoming, START + timedelta(seconds=round_number))
    db.close()
    results.put("done")


@pytest.mark.slow
def test_concurrent_first_messages_of_one_reader_make_one_row(
    make_app: Any, tmp_path: Path
) -> None:
    make_app()  # migrates the database file
    database = str(tmp_path / "guanban.sqlite3")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_touch_together, args=(database, barrier, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    assert [results.get(timeout=120) for _ in processes] == ["done"] * PROCESSES
    for process in processes:
        process.join(60)
        assert process.exitcode == 0

    db = connect(database)
    counts = db.execute("SELECT user_id, count(*) FROM users GROUP BY user_id").fetchall()
    assert sorted(counts) == sorted((f"oRacer{n}", 1) for n in range(ROUNDS))
