"""/dev/chat, the demo simulator: the page, its send endpoint, its input checks, and that it
exists only in demo mode. Messages go through the real signed/encrypted callback path.
Pushed messages are read back from the fake WeChat API server, and only from a loopback one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core.clock import TZ, fixed_clock
from bot.dev.fake_wechat import FakeWeChat
from bot.dev.simulator import fake_base, pushed_reply
from bot.outbound import outbox
from bot.outbound.sender import build_sender
from handlers.kit.actions import Capability, Events, LibraryAction
from handlers.registry import CAPABILITIES
from tests.conftest import ROOT, delivery_settings, free_port

# A Wednesday morning in term: the library is open (07:00-22:30).
WEDNESDAY_10AM = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)


@pytest.fixture
def demo_app(make_app: Callable[..., Any]) -> Any:
    return make_app(demo=True, clock=fixed_clock(WEDNESDAY_10AM))


@pytest.fixture
def demo_client(demo_app: Any) -> Any:
    return demo_app.test_client()


def send(client: Any, **body: Any) -> Any:
    return client.post("/dev/chat/send", json=body)


def test_page_shows_library_name_and_menu(demo_client: Any) -> None:
    response = demo_client.get("/dev/chat")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "华北理工大学图书馆" in page
    # Top-level buttons and the ones inside the 更多 sub-menu, each with its click key.
    for name, key in [
        ("开馆时间", "HOURS"),
        ("预约座位", "RESERVE"),
        ("我的预约", "MY_BOOKINGS"),
        ("意见反馈", "FEEDBACK"),
        ("使用帮助", "HELP"),
        ("联系馆员", "HUMAN"),
    ]:
        assert f'data-key="{key}">{name}</button>' in page
    assert 'name="viewport"' in page


def test_text_gets_the_opening_hours(demo_app: Any, demo_client: Any) -> None:
    response = send(demo_client, user="u1", text="今天几点闭馆")
    assert response.status_code == 200
    data = response.get_json()
    assert data["mode"] == "safe"  # signed, encrypted and decrypted like WeChat does
    assert data["reply"]["type"] == "text"
    assert "闭馆" in data["reply"]["text"] or "开馆" in data["reply"]["text"]
    assert "22:30" in data["reply"]["text"]  # Wednesday's closing time
    # It went through the real webhook: the pipeline claimed it in the inbox.
    db = demo_app.extensions["guanban"].services.db()
    rows = list(db["inbound"].rows_where("user_id = ?", ["u1"]))
    assert [(r["kind"], r["status"]) for r in rows] == [("text", "answered")]


def test_the_same_text_twice_is_two_messages(demo_client: Any) -> None:
    first = send(demo_client, user="u1", text="你好").get_json()
    second = send(demo_client, user="u1", text="你好").get_json()
    assert first["reply"]["text"] and first["reply"] == second["reply"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"kind": "click", "key": "HOURS"}, "22:30"),
        ({"kind": "subscribe"}, "欢迎"),
        ({"kind": "scan", "key": "seat:A101"}, "A101 号座接下来空闲"),
        ({"kind": "text", "text": "你好"}, "你好"),
    ],
    ids=["click", "subscribe", "scan", "text"],
)
def test_kinds(demo_client: Any, body: dict[str, str], expected: str) -> None:
    response = send(demo_client, user="u1", **body)
    assert response.status_code == 200, response.get_data(as_text=True)
    reply = response.get_json()["reply"]
    assert reply["type"] == "text"
    assert expected in reply["text"]


def test_unsubscribe_gets_no_reply(demo_client: Any) -> None:
    response = send(demo_client, user="u1", kind="unsubscribe")
    assert response.status_code == 200
    assert response.get_json()["reply"] == {"type": "empty"}


def test_work_channel(demo_client: Any) -> None:
    response = send(demo_client, channel="work", user="zhangsan", text="今天几点闭馆")
    assert response.status_code == 200
    data = response.get_json()
    assert data["mode"] == "safe"
    assert "闭馆" in data["reply"]["text"] or "开馆" in data["reply"]["text"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"text": "你好"}, "user"),
        ({"user": "   ", "text": "你好"}, "user"),
        ({"user": "u1", "channel": "qq", "text": "你好"}, "channel"),
        ({"user": "u1", "kind": "location"}, "kind"),
        ({"user": ["u1"], "text": "你好"}, "user"),
        ({"user": "u1", "kind": ["text"]}, "kind"),
        ({"user": "u1", "channel": {"mp": 1}}, "channel"),
        ({"user": "u1", "text": 42}, "text"),
        ({"user": "u1", "kind": "click", "key": ["HOURS"]}, "key"),
        (["u1", "你好"], "JSON object"),
        ("你好", "JSON object"),
        (None, "JSON object"),
    ],
    ids=[
        "no-user",
        "blank-user",
        "unknown-channel",
        "unknown-kind",
        "user-list",
        "kind-list",
        "channel-object",
        "text-number",
        "key-list",
        "array-body",
        "string-body",
        "null-body",
    ],
)
def test_bad_input_is_400_json(demo_client: Any, body: Any, words: str) -> None:
    response = demo_client.post("/dev/chat/send", json=body)
    assert response.status_code == 400
    assert words in response.get_json()["error"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("user=u1&text=hi", "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        ("", "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
    ids=["form", "broken-json", "empty", "not-utf8"],
)
def test_non_json_is_400_json(demo_client: Any, data: Any, content_type: str) -> None:
    response = demo_client.post("/dev/chat/send", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_json_null_fields_mean_defaults(demo_client: Any) -> None:
    response = send(demo_client, user="u1", channel=None, kind=None, text="你好", key=None)
    assert response.status_code == 200
    assert "你好" in response.get_json()["reply"]["text"]


SHELF_ARTICLES = (
    {"title": "新书上架：十一月", "description": "三楼东 · 42 种", "image": "", "url": ""},
    {
        "title": "借阅指南 <&>",
        "description": "",
        "image": "",
        "url": "https://lib.example.edu.cn/guide",
    },
)


class ActionShelfNews(LibraryAction):
    """Answers a scan of a shelf's QR code with two articles (a news reply)."""

    NAME = "action_test_shelf_news"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(json_message={"articles": list(SHELF_ARTICLES)})
        return []


SHELF_NEWS = Capability(
    "test_shelf_news", (ActionShelfNews,), scenes={"shelf:": ActionShelfNews.NAME}
)


@pytest.mark.parametrize("channel", ["mp", "work"])
def test_news_reply_comes_as_articles(make_app: Callable[..., Any], channel: str) -> None:
    app = make_app(demo=True, capabilities=(*CAPABILITIES, SHELF_NEWS))
    response = send(app.test_client(), channel=channel, user="u1", kind="scan", key="shelf:3E")
    assert response.status_code == 200, response.get_data(as_text=True)
    reply = response.get_json()["reply"]
    assert reply["type"] == "news"
    assert [(a["title"], a["description"], a["url"]) for a in reply["articles"]] == [
        ("新书上架：十一月", "三楼东 · 42 种", ""),
        ("借阅指南 <&>", "", "https://lib.example.edu.cn/guide"),
    ]
    assert reply["text"] == "新书上架：十一月\n借阅指南 <&>"


def test_pushed_lists_queued_messages(demo_app: Any, demo_client: Any) -> None:
    db = demo_app.extensions["guanban"].services.db()
    outbox.enqueue(
        db,
        channel="mp",
        recipient="u1",
        kind="late_reply",
        payload={"type": "text", "content": "你预约的座位已确认"},
        idempotency_key="test:1",
        now=WEDNESDAY_10AM,
    )
    answer = demo_client.get("/dev/chat/pushed?channel=mp&user=u1").get_json()
    # The API base is api.weixin.qq.com: the page shows the outbox, and nothing was asked.
    assert answer["source"] == "outbox" and answer["delivered"] == []
    assert [(m["payload"]["content"], m["status"]) for m in answer["outbox"]] == [
        ("你预约的座位已确认", "queued")
    ]
    others = demo_client.get("/dev/chat/pushed?channel=mp&user=u2").get_json()["outbox"]
    assert others == []
    assert demo_client.get("/dev/chat/pushed?channel=qq&user=u1").status_code == 400
    assert demo_client.get("/dev/chat/pushed?channel=mp").status_code == 400


def test_demo_without_keys_uses_the_demo_keys(make_app: Callable[..., Any]) -> None:
    blank = dict.fromkeys(["mp_token", "mp_appid", "mp_aes_key", "work_token", "work_aes_key"], "")
    client = make_app(demo=True, **blank).test_client()
    response = send(client, user="u1", text="今天几点闭馆")
    assert response.status_code == 200
    assert response.get_json()["mode"] == "safe"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/dev/chat"), ("POST", "/dev/chat/send"), ("GET", "/dev/chat/pushed?user=u1")],
)
def test_not_reachable_outside_demo_mode(
    make_app: Callable[..., Any], method: str, path: str
) -> None:
    client = make_app().test_client()
    response = client.open(path, method=method, json={"user": "u1", "text": "你好"})
    assert response.status_code == 404


def test_demo_off_explicitly_is_404(make_app: Callable[..., Any]) -> None:
    assert make_app(demo=False).test_client().get("/dev/chat").status_code == 404


# -- pushed messages, as the fake WeChat API server received them ------------------------------

TEMPLATES = """
[templates.seat_reminder]
template_id = "TPL-SEAT-1"
url = "https://lib.example.edu.cn/seats"
keywords = { thing1 = "seat", time2 = "starts" }
"""


@pytest.fixture
def fake_app(make_app: Callable[..., Any], fake_wechat: FakeWeChat, tmp_path: Path) -> Any:
    """A demo app whose outbound APIs are the fake (both channels), with one template."""
    library = tmp_path / "library.toml"
    library.write_text(
        (ROOT / "config" / "library.example.toml").read_text(encoding="utf-8") + TEMPLATES,
        encoding="utf-8",
    )
    config = delivery_settings(
        tmp_path, fake_wechat.url, mp_send_rate=0, work_send_rate=0, library_config=str(library)
    )
    return make_app(demo=True, clock=fixed_clock(WEDNESDAY_10AM), **config)


def queue(app: Any, user: str, key: str, payload: dict[str, Any], **kw: Any) -> None:
    services = app.extensions["guanban"].services
    outbox.enqueue(
        services.db(),
        channel=kw.pop("channel", "mp"),
        recipient=user,
        kind=kw.pop("kind", "late_reply"),
        payload=payload,
        idempotency_key=key,
        now=services.now(),
    )


def deliver(app: Any) -> None:
    """What the scheduler's sender does: send every due outbox row to the fake."""
    build_sender(app.extensions["guanban"].services).drain()


def pushed(client: Any, user: str, **params: Any) -> dict[str, Any]:
    response = client.get("/dev/chat/pushed", query_string={"user": user, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_pushed_shows_what_the_fake_delivered(fake_app: Any, fake_wechat: FakeWeChat) -> None:
    client = fake_app.test_client()
    # The reader writes first (the 48-hour window opens), then gets a late reply and a news.
    assert send(client, user="oReader", text="你好").status_code == 200
    queue(fake_app, "oReader", "late:1", {"type": "text", "content": "座位 A101 已为你保留"})
    news = {"title": "十一月新书", "description": "三楼东 · 42 种", "url": "https://lib.example"}
    queue(fake_app, "oReader", "news:1", {"type": "news", "articles": [news]}, kind="notice")
    # Someone who never wrote gets a template message (a keyword per field), and a notice
    # without a template cannot reach them at all.
    queue(
        fake_app,
        "oQuiet",
        "seat:1",
        {"type": "text", "content": "座位提醒", "fields": {"seat": "A101", "starts": "10:15"}},
        kind="seat_reminder",
    )
    queue(fake_app, "oQuiet", "notice:1", {"type": "text", "content": "周末闭馆"}, kind="notice")

    before = pushed(client, "oReader")
    assert before["source"] == "fake" and before["delivered"] == []  # queued, not yet sent
    assert [m["status"] for m in before["outbox"]] == ["queued", "queued"]

    deliver(fake_app)
    answer = pushed(client, "oReader")
    assert answer["source"] == "fake" and "fake_error" not in answer
    assert [(m["kind"], m["reply"]) for m in answer["delivered"]] == [
        ("text", {"type": "text", "text": "座位 A101 已为你保留"}),
        (
            "news",
            {
                "type": "news",
                "text": "十一月新书",
                "articles": [{**news, "image": ""}],
            },
        ),
    ]
    first = answer["delivered"][0]
    assert first["via"] == "/cgi-bin/message/custom/send"
    assert datetime.fromisoformat(first["time"]).utcoffset() == TZ.utcoffset(WEDNESDAY_10AM)
    assert answer["next_seq"] == max(m.seq for m in fake_wechat.messages(to="oReader"))
    assert [m["status"] for m in answer["outbox"]] == ["sent", "sent"]

    # Polling on from next_seq brings nothing already shown.
    again = pushed(client, "oReader", since_seq=answer["next_seq"])
    assert again["delivered"] == [] and again["next_seq"] == answer["next_seq"]

    quiet = pushed(client, "oQuiet")
    assert [m["reply"] for m in quiet["delivered"]] == [
        {
            "type": "template",
            "text": "A101\n10:15",
            "fields": [
                {"keyword": "thing1", "value": "A101"},
                {"keyword": "time2", "value": "10:15"},
            ],
            "url": "https://lib.example.edu.cn/seats",
        }
    ]
    statuses = {m["kind"]: (m["status"], m["error"]) for m in quiet["outbox"]}
    assert statuses["seat_reminder"] == ("sent", "")
    assert statuses["notice"][0] == "undeliverable"
    assert "48-hour" in statuses["notice"][1]  # the reason, for the page to show


def test_pushed_keeps_channels_and_readers_apart(fake_app: Any) -> None:
    client = fake_app.test_client()
    queue(
        fake_app, "zhangsan", "work:1", {"type": "text", "content": "研究室已预约"}, channel="work"
    )
    deliver(fake_app)
    work = pushed(client, "zhangsan", channel="work")
    assert [m["reply"]["text"] for m in work["delivered"]] == ["研究室已预约"]
    assert work["delivered"][0]["via"] == "/cgi-bin/message/send"
    assert pushed(client, "zhangsan", channel="mp")["delivered"] == []
    assert pushed(client, "lisi", channel="work")["delivered"] == []


@pytest.mark.parametrize("since_seq", ["x", "1.5", "--1"])
def test_pushed_refuses_a_bad_since_seq(fake_app: Any, since_seq: str) -> None:
    response = fake_app.test_client().get(f"/dev/chat/pushed?user=u1&since_seq={since_seq}")
    assert response.status_code == 400
    assert "since_seq" in response.get_json()["error"]


def test_pushed_says_when_the_fake_does_not_answer(make_app: Callable[..., Any]) -> None:
    silent = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(demo=True, wechat_api_base=silent, work_api_base=silent)
    queue(app, "u1", "late:1", {"type": "text", "content": "迟到的回复"})
    answer = pushed(app.test_client(), "u1")
    assert answer["source"] == "fake" and answer["delivered"] == []
    assert silent in answer["fake_error"]
    assert [m["status"] for m in answer["outbox"]] == ["queued"]


@pytest.mark.parametrize(
    ("mp_base", "work_base", "channel"),
    [
        ("https://api.weixin.qq.com", "https://qyapi.weixin.qq.com", "mp"),
        ("https://api.weixin.qq.com", "https://qyapi.weixin.qq.com", "work"),
        ("http://api.weixin.qq.com", "LOOPBACK", "mp"),  # each channel asks its own base
        ("LOOPBACK", "http://qyapi.weixin.qq.com", "work"),
        ("http://127.0.0.1.nip.io:{port}", "LOOPBACK", "mp"),
    ],
)
def test_pushed_never_asks_a_host_beyond_loopback(
    make_app: Callable[..., Any],
    fake_wechat: FakeWeChat,
    monkeypatch: pytest.MonkeyPatch,
    mp_base: str,
    work_base: str,
    channel: str,
) -> None:
    port = fake_wechat.url.rsplit(":", 1)[1]
    bases = [b.replace("LOOPBACK", fake_wechat.url).format(port=port) for b in (mp_base, work_base)]
    asked: list[str] = []

    def record(session: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        asked.append(url)
        raise requests.ConnectionError("recorded, not sent")

    monkeypatch.setattr(requests.Session, "request", record)
    app = make_app(demo=True, wechat_api_base=bases[0], work_api_base=bases[1])
    queue(app, "u1", "late:1", {"type": "text", "content": "迟到的回复"}, channel=channel)
    answer = pushed(app.test_client(), "u1", channel=channel)
    assert asked == []
    assert answer["source"] == "outbox" and "fake_error" not in answer
    assert [m["payload"]["content"] for m in answer["outbox"]] == ["迟到的回复"]


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:8100", "http://127.0.0.1:8100"),
        ("http://127.0.0.1:8100/", "http://127.0.0.1:8100"),
        (" http://localhost:8100 ", "http://localhost:8100"),
        ("http://[::1]:8100", "http://[::1]:8100"),
        ("http://127.0.0.2:8100/fake/", "http://127.0.0.2:8100/fake"),
        ("https://api.weixin.qq.com", None),
        ("http://api.weixin.qq.com", None),
        ("https://127.0.0.1:8100", None),  # the fake speaks plain http only
        ("http://127.0.0.1.nip.io:8100", None),
        ("http://localhost.example.com:8100", None),
        ("http://10.0.0.5:8100", None),
        ("http://0.0.0.0:8100", None),
        ("http://user@127.0.0.1:8100", None),
        ("http://127.0.0.1:99999", None),
        ("127.0.0.1:8100", None),
        ("", None),
    ],
)
def test_fake_base_accepts_only_plain_http_on_loopback(base: str, expected: str | None) -> None:
    assert fake_base(base) == expected


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        (
            "markdown",
            {"msgtype": "markdown", "markdown": {"content": "**闭馆**通知"}},
            {"type": "text", "text": "**闭馆**通知"},
        ),
        (
            "textcard",
            {"textcard": {"title": "讲座", "description": "周三 19:00", "url": "https://x.cn"}},
            {
                "type": "news",
                "text": "讲座",
                "articles": [
                    {
                        "title": "讲座",
                        "description": "周三 19:00",
                        "image": "",
                        "url": "https://x.cn",
                    }
                ],
            },
        ),
        (
            "template",
            {"template_id": "T", "data": {"thing1": {"value": "A101"}, "bad": "x"}},
            {
                "type": "template",
                "text": "A101",
                "fields": [{"keyword": "thing1", "value": "A101"}],
                "url": "",
            },
        ),
        ("mpnews", {"mpnews": {"media_id": "M1"}}, {"type": "text", "text": "[mpnews 消息]"}),
        ("news", {"news": "not an object"}, {"type": "news", "text": "", "articles": []}),
    ],
    ids=["markdown", "textcard", "template", "mpnews", "malformed-news"],
)
def test_pushed_reply_shapes(kind: str, body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert pushed_reply(kind, body) == expected
