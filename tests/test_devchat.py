"""/dev/chat, the demo simulator: the page, its send endpoint, its input checks, and that it
exists only in demo mode. Messages go through the real signed/encrypted callback path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import outbox
from bot.clock import TZ, fixed_clock
from handlers.base import Capability, Events, LibraryAction
from handlers.registry import CAPABILITIES

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
        ({"kind": "scan", "key": "seat:A101"}, "二维码"),
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
    messages = demo_client.get("/dev/chat/pushed?channel=mp&user=u1").get_json()["messages"]
    assert [m["payload"]["content"] for m in messages] == ["你预约的座位已确认"]
    others = demo_client.get("/dev/chat/pushed?channel=mp&user=u2").get_json()["messages"]
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
