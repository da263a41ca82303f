"""The outbox and its sender against the fake WeChat API server: order, channels, every error
class, tokens, WeCom batching and its per-member limit, rate limiting with an injected clock."""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import users
from bot.core.clock import TZ
from bot.core.db import migrate
from bot.core.services import Services, build_services
from bot.core.settings import Settings
from bot.core.values import MP, WORK, Incoming
from bot.dev.fake_wechat import FakeWeChat
from bot.outbound import outbox
from bot.outbound.channels import templates_from_config
from bot.outbound.sender import BACKOFF_BASE, RateLimiter, Sender, build_sender
from bot.schema import all_migrations
from handlers.registry import CAPABILITIES
from tests.conftest import TEST_KEYS, Clock, delivery_settings

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
READER = "oReader"
MP_ACCOUNT = f"mp:{TEST_KEYS['mp_appid']}"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeWeChat]:
    # The fake keeps WeChat's time (token expiry, WeCom's minute) by the same clock.
    server = FakeWeChat(clock=lambda: clock.now.timestamp())
    server.start()
    yield server
    server.stop()


def make_services(tmp_path: Path, fake: FakeWeChat, clock: Clock, **overrides: Any) -> Services:
    config = delivery_settings(tmp_path, fake.url, mp_send_rate=0, work_send_rate=0)
    settings = Settings.from_env(**{**config, **overrides})
    migrate(settings.database, all_migrations(CAPABILITIES))
    return build_services(settings, clock)


@pytest.fixture
def services(tmp_path: Path, fake: FakeWeChat, clock: Clock) -> Services:
    return make_services(tmp_path, fake, clock)


@pytest.fixture
def sender(services: Services) -> Sender:
    return build_sender(services)


def wrote_to_us(services: Services, user: str, when: datetime, channel: str = MP) -> None:
    """The reader wrote at `when` (opening the 48-hour window)."""
    users.touch(services.db(), Incoming(channel, user, "text", when, text="你好"), when)


def queue(services: Services, text: str, user: str = READER, channel: str = MP, **kw: Any) -> int:
    row = outbox.enqueue(
        services.db(),
        channel=channel,
        recipient=user,
        kind=kw.pop("kind", "notice"),
        payload=kw.pop("payload", {"type": "text", "content": text}),
        idempotency_key=kw.pop("key", f"{channel}:{user}:{text}"),
        now=services.now(),
        **kw,
    )
    assert row is not None
    return row


def row(services: Services, row_id: int) -> dict[str, Any]:
    return dict(services.db()["outbox"].get(row_id))


def texts(fake: FakeWeChat, to: str | None = None) -> list[str]:
    found = []
    for message in fake.messages(to=to):
        content = message.content
        found.append(content.get("text", {}).get("content") or content.get("template_id", ""))
    return found


# -- the outbox --------------------------------------------------------------------------------


def test_enqueueing_the_same_key_twice_is_a_no_op(services: Services) -> None:
    first = queue(services, "你荐购的《原则》到馆了", key="arrival:42")
    again = outbox.enqueue(
        services.db(),
        channel=MP,
        recipient=READER,
        kind="notice",
        payload={"type": "text", "content": "another text"},
        idempotency_key="arrival:42",
        now=services.now(),
    )
    assert again is None
    assert services.db()["outbox"].count == 1
    assert (
        row(services, first)["payload"] == '{"type": "text", "content": "你荐购的《原则》到馆了"}'
    )


def test_due_rows_go_in_priority_order_and_not_before_their_time(
    services: Services, sender: Sender, fake: FakeWeChat, clock: Clock
) -> None:
    wrote_to_us(services, READER, NOW)
    queue(services, "broadcast", priority=outbox.PRIORITY_BROADCAST)
    queue(services, "later", not_before=NOW + timedelta(minutes=5))
    queue(services, "notice")
    queue(services, "late reply", priority=outbox.PRIORITY_REPLY)
    assert sender.drain().sent == 3
    assert texts(fake) == ["late reply", "notice", "broadcast"]
    clock.advance(minutes=5)
    assert sender.drain().sent == 1
    assert texts(fake)[-1] == "later"


# -- 公众号: custom within 48 hours, template outside it ----------------------------------------


def test_a_reader_within_48_hours_gets_a_customer_service_message(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    wrote_to_us(services, READER, NOW - timedelta(hours=47))
    sent = queue(services, "你的座位 15 分钟后开始")
    sender.drain()
    [message] = fake.messages(to=READER)
    assert message.via == "/cgi-bin/message/custom/send"
    assert message.content == {
        "touser": READER,
        "msgtype": "text",
        "text": {"content": "你的座位 15 分钟后开始"},
    }
    assert row(services, sent)["status"] == "sent" and row(services, sent)["via"] == "custom"


def test_outside_48_hours_a_configured_template_is_used(
    tmp_path: Path, fake: FakeWeChat, clock: Clock
) -> None:
    config = (Path(__file__).parents[2] / "config" / "library.example.toml").read_text()
    config += """
[templates.book_arrived]
template_id = "TPL-ARRIVED-1"
url = "https://lib.example.edu.cn/my"
keywords = { thing1 = "title", time2 = "arrived" }
"""
    path = tmp_path / "library.toml"
    path.write_text(config, encoding="utf-8")
    services = make_services(tmp_path, fake, clock, library_config=str(path))
    wrote_to_us(services, READER, NOW - timedelta(hours=49))
    sent = queue(
        services,
        "你荐购的书到了",
        kind="book_arrived",
        payload={
            "type": "text",
            "content": "你荐购的《原则》到馆了",
            "fields": {"title": "《原则》", "arrived": "11月23日"},
        },
    )
    build_sender(services).drain()
    [message] = fake.messages(to=READER)
    assert message.via == "/cgi-bin/message/template/send"
    assert message.content == {
        "touser": READER,
        "template_id": "TPL-ARRIVED-1",
        "data": {"thing1": {"value": "《原则》"}, "time2": {"value": "11月23日"}},
        "url": "https://lib.example.edu.cn/my",
    }
    assert row(services, sent)["via"] == "template"


def test_a_dotted_kind_takes_its_template_from_a_nested_table() -> None:
    library = tomllib.loads(
        """
[templates.booking.reminder]
template_id = "TPL-REMIND"
keywords = { character_string1 = "ref", time3 = "time" }
[templates.booking.no_show]
template_id = "TPL-NO-SHOW"
[templates.book_arrived]
template_id = "TPL-ARRIVED"
[templates.booking.forgotten]
url = "no template_id: not a template"
"""
    )
    found = templates_from_config(library)
    assert sorted(found) == ["book_arrived", "booking.no_show", "booking.reminder"]
    assert found["booking.reminder"].keywords == {"character_string1": "ref", "time3": "time"}


def test_outside_48_hours_without_a_template_is_undeliverable_without_a_call(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    wrote_to_us(services, READER, NOW - timedelta(hours=49))
    sent = queue(services, "周末闭馆通知")
    done = sender.drain()
    assert done.undeliverable == 1
    assert fake.calls(path="/cgi-bin/message/custom/send") == []
    assert (row(services, sent)["status"], row(services, sent)["last_error_code"]) == (
        "undeliverable",
        45015,
    )


# -- errors --------------------------------------------------------------------------------------

CUSTOM = "/cgi-bin/message/custom/send"


@pytest.mark.parametrize(
    "fault",
    [
        {"errcode": -1},
        {"errcode": 45009},
        {"errcode": 45011},
        {"status": 502},
        {"status": 500},
        {"drop": True},
        {"delay": 1.0},  # beyond the 0.3 s timeout below
    ],
    ids=["busy", "daily-quota", "minute-quota", "502", "500", "dropped", "timeout"],
)
def test_passing_errors_retry_with_backoff_then_deliver_once(
    tmp_path: Path, fake: FakeWeChat, clock: Clock, fault: dict[str, Any]
) -> None:
    services = make_services(tmp_path, fake, clock, http_timeout=0.3)
    sender = build_sender(services)
    wrote_to_us(services, READER, NOW)
    sent = queue(services, "你预约的讨论室已确认")
    sender.drain()  # the token first, so the fault meets the message itself
    assert texts(fake) == ["你预约的讨论室已确认"]
    fake.reset()
    clock.advance(seconds=1)
    again = queue(services, "第二条", key="second")
    fake.inject(path=CUSTOM, **fault)
    done = sender.drain()
    assert done.retried == 1
    state = row(services, again)
    assert state["status"] == "queued" and state["attempts"] == 1
    assert datetime.fromisoformat(state["not_before"]) == clock.now + BACKOFF_BASE
    assert state["last_error_code"] == fault.get("errcode")
    assert sender.drain().handled == 0  # not before the backoff
    clock.advance(seconds=10)
    assert sender.drain().sent == 1
    assert texts(fake, READER).count("第二条") == 1
    assert row(services, sent)["attempts"] == 1


def test_backoff_doubles_and_gives_up_after_the_attempts_setting(
    tmp_path: Path, fake: FakeWeChat, clock: Clock
) -> None:
    services = make_services(tmp_path, fake, clock, send_attempts=3)
    sender = build_sender(services)
    wrote_to_us(services, READER, NOW)
    sent = queue(services, "提醒")
    fake.inject(path=CUSTOM, errcode=-1, times=None)
    waits = []
    for _ in range(3):
        sender.drain()
        state = row(services, sent)
        if state["status"] == "queued":
            wait = datetime.fromisoformat(state["not_before"]) - clock.now
            waits.append(wait)
            clock.now += wait
    assert waits == [timedelta(seconds=10), timedelta(seconds=20)]
    state = row(services, sent)
    assert (state["status"], state["attempts"], state["last_error_code"]) == ("failed", 3, -1)
    assert len(fake.calls(path=CUSTOM)) == 3


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (45015, "undeliverable"),
        (45047, "undeliverable"),
        (43004, "undeliverable"),
        (40003, "undeliverable"),
        (40008, "failed"),
    ],
)
def test_permanent_errors_are_recorded_not_retried(
    services: Services, sender: Sender, fake: FakeWeChat, clock: Clock, code: int, status: str
) -> None:
    wrote_to_us(services, READER, NOW)
    sent = queue(services, "通知")
    fake.inject(path=CUSTOM, errcode=code, times=None)
    sender.drain()
    clock.advance(hours=1)
    sender.drain()
    state = row(services, sent)
    assert (state["status"], state["last_error_code"], state["attempts"]) == (status, code, 1)
    assert len(fake.calls(path=CUSTOM)) == 1


def test_a_reader_who_unfollowed_is_undeliverable(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    wrote_to_us(services, READER, NOW)
    fake.set_users(unfollowed=[READER])
    sent = queue(services, "通知")
    assert sender.drain().undeliverable == 1
    assert row(services, sent)["last_error_code"] == 43004


# -- access tokens -------------------------------------------------------------------------------


def test_one_token_serves_many_messages_and_is_fetched_from_the_base_url(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    for n in range(20):
        wrote_to_us(services, f"o{n}", NOW)
        queue(services, f"第{n}条", user=f"o{n}")
    assert sender.drain().sent == 20
    assert fake.token_fetches(MP_ACCOUNT) == 1
    [fetch] = fake.calls(path="/cgi-bin/token")
    assert fetch.query["appid"] == TEST_KEYS["mp_appid"]


@pytest.mark.parametrize("code", [40001, 42001])
def test_a_token_error_gets_exactly_one_refresh(
    services: Services, sender: Sender, fake: FakeWeChat, code: int
) -> None:
    wrote_to_us(services, READER, NOW)
    queue(services, "一")
    sender.drain()
    fake.inject(path=CUSTOM, errcode=code, times=1)
    queue(services, "二")
    assert sender.drain().sent == 1
    assert fake.token_fetches(MP_ACCOUNT) == 2
    # A token error that persists: one refresh, then it surfaces as an error of this attempt.
    fake.inject(path=CUSTOM, errcode=code, times=None)
    third = queue(services, "三")
    assert sender.drain().retried == 1
    assert fake.token_fetches(MP_ACCOUNT) == 3
    assert row(services, third)["last_error_code"] == code


def test_a_token_is_refreshed_ahead_of_its_expiry(
    services: Services, sender: Sender, fake: FakeWeChat, clock: Clock
) -> None:
    wrote_to_us(services, READER, NOW)
    queue(services, "一")
    sender.drain()
    clock.advance(seconds=7200 - 301)
    wrote_to_us(services, READER, clock.now)
    queue(services, "二")
    sender.drain()
    assert fake.token_fetches(MP_ACCOUNT) == 1
    clock.advance(seconds=2)  # now within five minutes of the expiry
    queue(services, "三")
    sender.drain()
    assert fake.token_fetches(MP_ACCOUNT) == 2
    assert texts(fake) == ["一", "二", "三"]


# -- WeCom ---------------------------------------------------------------------------------------


def test_one_wecom_message_to_many_members_goes_in_requests_of_1000(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    payload = {"type": "text", "content": "本周六 14:00 读书会，欢迎参加"}
    for n in range(2500):
        queue(services, "", user=f"u{n:04d}", channel=WORK, payload=payload, key=f"club:{n}")
    assert sender.drain().sent == 2500
    calls = fake.calls(path="/cgi-bin/message/send")
    assert [len(c.body["touser"].split("|")) for c in calls] == [1000, 1000, 500]
    assert all(c.body["enable_duplicate_check"] == 1 for c in calls)
    assert len({m.to for m in fake.messages(channel=WORK)}) == 2500


def test_wecom_invalid_members_are_undeliverable_and_the_rest_sent(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    fake.set_users(wecom_members=["u1", "u2"])
    payload = {"type": "text", "content": "通知"}
    ids = [
        queue(services, "", user=u, channel=WORK, payload=payload, key=u)
        for u in ("u1", "u2", "gone")
    ]
    done = sender.drain()
    assert (done.sent, done.undeliverable) == (2, 1)
    assert [row(services, i)["status"] for i in ids] == ["sent", "sent", "undeliverable"]
    assert row(services, ids[2])["last_error_code"] == 81013


def test_never_more_than_30_messages_a_minute_to_one_wecom_member(
    services: Services, sender: Sender, fake: FakeWeChat, clock: Clock
) -> None:
    for n in range(45):
        queue(services, f"提醒 {n}", user="u_busy", channel=WORK, key=f"r{n}")
    done = sender.drain()
    assert (done.sent, done.deferred) == (30, 15)
    assert fake.dropped() == []
    clock.advance(seconds=30)
    assert sender.drain().sent == 0
    clock.advance(seconds=30)
    assert sender.drain().sent == 15
    assert fake.dropped() == []
    assert len(fake.messages(to="u_busy")) == 45


def test_the_same_message_twice_to_one_member_goes_in_two_requests(
    services: Services, sender: Sender, fake: FakeWeChat
) -> None:
    payload = {"type": "text", "content": "同一条"}
    queue(services, "", user="u1", channel=WORK, payload=payload, key="a")
    queue(services, "", user="u1", channel=WORK, payload=payload, key="b")
    queue(services, "", user="u2", channel=WORK, payload=payload, key="c")
    sender.drain()
    bodies = [c.body["touser"] for c in fake.calls(path="/cgi-bin/message/send")]
    assert bodies == ["u1|u2", "u1"]


# -- rate limiting -------------------------------------------------------------------------------


class Ticker:
    """A monotonic clock that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limiter_spaces_calls_evenly() -> None:
    ticker = Ticker()
    limiter = RateLimiter(4, ticker, ticker.sleep)
    moments = []
    for _ in range(9):
        limiter.acquire()
        moments.append(ticker.now)
    assert [round(b - a, 6) for a, b in itertools.pairwise(moments)] == [0.25] * 8
    assert RateLimiter(0, ticker, ticker.sleep).acquire() is None and len(ticker.slept) == 8


def test_the_sender_keeps_the_channel_rate(tmp_path: Path, fake: FakeWeChat, clock: Clock) -> None:
    services = make_services(tmp_path, fake, clock, mp_send_rate=5)
    ticker = Ticker()
    sender = build_sender(services, monotonic=ticker, sleep=ticker.sleep)
    for n in range(11):
        wrote_to_us(services, f"o{n}", NOW)
        queue(services, f"第{n}条", user=f"o{n}")
    assert sender.drain().sent == 11
    assert sum(ticker.slept) == pytest.approx(2.0)  # 10 gaps of 0.2 s


@pytest.mark.parametrize(("code", "status"), [(81013, "undeliverable"), (45009, "queued")])
def test_a_wecom_request_refused_whole_settles_every_row(
    services: Services, sender: Sender, fake: FakeWeChat, code: int, status: str
) -> None:
    payload = {"type": "text", "content": "通知"}
    ids = [queue(services, "", user=u, channel=WORK, payload=payload, key=u) for u in ("u1", "u2")]
    fake.inject(path="/cgi-bin/message/send", errcode=code)
    sender.drain()
    assert [(row(services, i)["status"], row(services, i)["last_error_code"]) for i in ids] == [
        (status, code)
    ] * 2
    assert fake.messages(channel=WORK) == []
