"""The project's fake WeChat API server, tested over real HTTP on 127.0.0.1.

Each test starts its own server (port 0) with a hand-driven clock, talks to it with
`requests` the way the bot does, and checks both the answers and what the fake recorded.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.dev.fake_wechat import FakeWeChat
from tests.conftest import ROOT

APPID = "wx_fake_app_0001"
CORPID = "ww_fake_corp_0001"
CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
MASS_SEND = "/cgi-bin/message/mass/send"
MASS_ALL = "/cgi-bin/message/mass/sendall"
WORK_SEND = "/cgi-bin/message/send"
MENU_CREATE = "/cgi-bin/menu/create"
QR_CREATE = "/cgi-bin/qrcode/create"


class Clock:
    """Seconds since the epoch, moved only by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """A client as the bot is one: a keep-alive session, UTF-8 JSON, a timeout on every call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def raw(
        self, method: str, path: str, body: Any = None, /, timeout: float = 5, **params: Any
    ) -> requests.Response:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        return self.session.request(
            method,
            self.url + path,
            params=params,
            data=data,
            headers={"Content-Type": "application/json"} if data is not None else {},
            timeout=timeout,
        )

    def get(self, path: str, /, **params: Any) -> dict[str, Any]:
        response = self.raw("GET", path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any, /, **params: Any) -> dict[str, Any]:
        response = self.raw("POST", path, body, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def mp_token(self, appid: str = APPID, secret: str = "mp-secret") -> str:
        answer = self.get(
            "/cgi-bin/token", grant_type="client_credential", appid=appid, secret=secret
        )
        return str(answer["access_token"])

    def work_token(self, corpid: str = CORPID, secret: str = "work-secret") -> str:
        return str(self.get("/cgi-bin/gettoken", corpid=corpid, corpsecret=secret)["access_token"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeWeChat]:
    server = FakeWeChat(clock=clock)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(fake: FakeWeChat) -> Api:
    assert fake.url is not None
    return Api(fake.url)


@pytest.fixture
def mp(api: Api) -> str:
    return api.mp_token()


@pytest.fixture
def work(api: Api) -> str:
    return api.work_token()


def text(to: str, content: str = "您预约的座位明天 08:00 开始") -> dict[str, Any]:
    return {"touser": to, "msgtype": "text", "text": {"content": content}}


def work_text(to: str, content: str = "今日闭馆提醒", **extra: Any) -> dict[str, Any]:
    body = {"touser": to, "msgtype": "text", "agentid": 1000002, "text": {"content": content}}
    return {**body, **extra}


# -- tokens ----------------------------------------------------------------------------------


def test_mp_token_refetch_invalidates_the_previous_token(api: Api, fake: FakeWeChat) -> None:
    answer = api.get("/cgi-bin/token", grant_type="client_credential", appid=APPID, secret="s")
    assert set(answer) == {"access_token", "expires_in"}
    assert answer["expires_in"] == 7200
    first = answer["access_token"]
    assert api.post(CUSTOM, text("o1"), access_token=first)["errcode"] == 0

    second = api.mp_token()
    assert second != first
    assert api.post(CUSTOM, text("o1"), access_token=first)["errcode"] == 40001
    assert api.post(CUSTOM, text("o1"), access_token=second)["errcode"] == 0
    assert fake.token_fetches(f"mp:{APPID}") == 2
    assert fake.token_fetches("mp:wx_someone_else") == 0


def test_mp_refetch_grace_keeps_the_old_token_for_a_while(clock: Clock) -> None:
    with FakeWeChat(clock=clock, refetch_grace=300) as fake:
        api = Api(fake.url or "")
        first = api.mp_token()
        api.mp_token()
        assert api.post(CUSTOM, text("o1"), access_token=first)["errcode"] == 0
        clock.advance(300)
        assert api.post(CUSTOM, text("o1"), access_token=first)["errcode"] == 40001


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"appid": APPID, "secret": "s"}, 40002),
        ({"grant_type": "password", "appid": APPID, "secret": "s"}, 40002),
        ({"grant_type": "client_credential", "secret": "s"}, 41002),
        ({"grant_type": "client_credential", "appid": APPID}, 41004),
    ],
)
def test_mp_token_refuses_incomplete_requests(api: Api, params: dict[str, str], code: int) -> None:
    answer = api.get("/cgi-bin/token", **params)
    assert answer["errcode"] == code
    assert "access_token" not in answer


def test_mp_secrets_are_checked_when_configured() -> None:
    with FakeWeChat(secrets={APPID: "right"}) as fake:
        api = Api(fake.url or "")
        base = {"grant_type": "client_credential"}
        wrong = api.get("/cgi-bin/token", **base, appid=APPID, secret="wrong")
        assert wrong == {"errcode": 40125, "errmsg": "invalid appsecret"}
        unknown = api.get("/cgi-bin/token", **base, appid="wx_unknown", secret="right")
        assert unknown["errcode"] == 40013
        assert "access_token" in api.get("/cgi-bin/token", **base, appid=APPID, secret="right")
        assert fake.token_fetches() == 1


def test_work_token_is_the_same_while_valid_and_new_after_expiry(
    api: Api, clock: Clock, fake: FakeWeChat
) -> None:
    answer = api.get("/cgi-bin/gettoken", corpid=CORPID, corpsecret="s")
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert answer["expires_in"] == 7200
    first = answer["access_token"]
    clock.advance(3600)
    assert api.work_token(secret="s") == first
    assert api.post(WORK_SEND, work_text("alice"), access_token=first)["errcode"] == 0

    clock.advance(3600)  # 7200 s after issue
    assert api.post(WORK_SEND, work_text("alice"), access_token=first)["errcode"] == 42001
    second = api.work_token(secret="s")
    assert second != first
    assert api.post(WORK_SEND, work_text("alice"), access_token=second)["errcode"] == 0
    assert fake.token_fetches(f"work:{CORPID}") == 3


def test_work_token_errors() -> None:
    with FakeWeChat(corp_secrets={CORPID: ["app-a", "app-b"]}) as fake:
        api = Api(fake.url or "")
        assert api.get("/cgi-bin/gettoken", corpsecret="x")["errcode"] == 41002
        assert api.get("/cgi-bin/gettoken", corpid=CORPID)["errcode"] == 41004
        assert api.get("/cgi-bin/gettoken", corpid="ww_other", corpsecret="app-a")["errcode"] == (
            40013
        )
        assert api.get("/cgi-bin/gettoken", corpid=CORPID, corpsecret="x")["errcode"] == 40001
        a, b = api.work_token(secret="app-a"), api.work_token(secret="app-b")
        assert a != b  # each application has its own token


def test_mp_token_expires_by_the_clock(api: Api, clock: Clock, mp: str) -> None:
    clock.advance(7199)
    assert api.post(CUSTOM, text("o1"), access_token=mp)["errcode"] == 0
    clock.advance(1)
    assert api.post(CUSTOM, text("o1"), access_token=mp) == {
        "errcode": 42001,
        "errmsg": "access_token expired",
    }


def test_expire_and_invalidate_every_issued_token(api: Api, fake: FakeWeChat) -> None:
    mp, work = api.mp_token(), api.work_token()
    fake.expire_tokens()
    assert api.post(CUSTOM, text("o1"), access_token=mp)["errcode"] == 42001
    assert api.post(WORK_SEND, work_text("bob"), access_token=work)["errcode"] == 42001
    fresh_mp, fresh_work = api.mp_token(), api.work_token()
    assert fresh_work != work  # WeCom hands out a new one once the old one is dead
    assert api.post(CUSTOM, text("o1"), access_token=fresh_mp)["errcode"] == 0

    fake.invalidate_tokens()
    assert api.post(CUSTOM, text("o1"), access_token=fresh_mp)["errcode"] == 40001
    assert api.post(WORK_SEND, work_text("bob"), access_token=fresh_work)["errcode"] == 40001
    assert len(fake.messages()) == 1


def test_access_token_is_checked_on_every_endpoint(api: Api, mp: str, work: str) -> None:
    assert api.post(CUSTOM, text("o1"))["errcode"] == 41001
    assert api.post(CUSTOM, text("o1"), access_token="made-up")["errcode"] == 40001
    assert api.post(WORK_SEND, work_text("bob"), access_token=mp)["errcode"] == 40001
    assert api.post(CUSTOM, text("o1"), access_token=work)["errcode"] == 40001
    assert api.get("/cgi-bin/tags/get", access_token=work)["errcode"] == 40001


def test_unknown_path_wrong_method_and_bad_bodies(api: Api, fake: FakeWeChat, mp: str) -> None:
    missing = api.raw("GET", "/cgi-bin/no/such/api", access_token=mp)
    assert missing.status_code == 404
    assert missing.json()["errcode"] != 0
    assert api.get(CUSTOM, access_token=mp)["errcode"] == 43002
    assert api.post("/cgi-bin/tags/get", {}, access_token=mp)["errcode"] == 43001

    url = f"{api.url}{CUSTOM}?access_token={mp}"
    broken = api.session.post(url, data=b'{"touser": "o1",', timeout=5).json()
    assert broken == {"errcode": 47001, "errmsg": "data format error"}
    assert api.session.post(url, data=b"[1, 2]", timeout=5).json()["errcode"] == 47001
    assert api.session.post(url, data=b"", timeout=5).json()["errcode"] == 44002
    assert fake.messages() == []
    assert [c.status for c in fake.calls()][-3:] == [200, 200, 200]


# -- 公众号 messages ---------------------------------------------------------------------------


def test_custom_send_delivers_and_records(api: Api, fake: FakeWeChat, mp: str) -> None:
    news = {
        "touser": "o2",
        "msgtype": "news",
        "news": {"articles": [{"title": "新书通报", "url": "https://lib.example/new"}]},
    }
    assert api.post(CUSTOM, text("o1"), access_token=mp) == {"errcode": 0, "errmsg": "ok"}
    assert api.post(CUSTOM, news, access_token=mp)["errcode"] == 0

    delivered = fake.messages()
    assert [(m.channel, m.to, m.kind, m.via) for m in delivered] == [
        ("mp", "o1", "text", CUSTOM),
        ("mp", "o2", "news", CUSTOM),
    ]
    assert delivered[0].content["text"]["content"] == "您预约的座位明天 08:00 开始"
    assert fake.messages(to="o2")[0].content == news
    call = fake.calls(CUSTOM)[0]
    assert (call.method, call.status, call.account, call.fault) == (
        "POST",
        200,
        f"mp:{APPID}",
        None,
    )
    assert call.body == text("o1") and call.query["access_token"] == mp
    assert call.response == {"errcode": 0, "errmsg": "ok"}
    assert [c.seq for c in fake.calls()] == sorted(c.seq for c in fake.calls())


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (text("o_unfollowed"), 43004),
        (text("o_quiet"), 45015),
        ({"touser": "o1", "msgtype": "telepathy", "telepathy": {}}, 40008),
        ({"touser": "o1", "msgtype": "text"}, 40008),
        (text("o1", content=""), 44004),
        ({"msgtype": "text", "text": {"content": "hi"}}, 40003),
    ],
)
def test_custom_send_errors_deliver_nothing(
    api: Api, fake: FakeWeChat, mp: str, body: dict[str, Any], code: int
) -> None:
    fake.set_users(unfollowed=["o_unfollowed"], outside_window=["o_quiet"])
    assert api.post(CUSTOM, body, access_token=mp)["errcode"] == code
    assert fake.messages() == []


def test_template_send(api: Api, fake: FakeWeChat, mp: str) -> None:
    fake.set_users(unfollowed=["o_gone"])
    body = {
        "touser": "o1",
        "template_id": "TPL_RESERVATION",
        "url": "https://lib.example/r/1",
        "data": {"thing1": {"value": "三楼自习室"}, "time2": {"value": "2026-11-18 08:00"}},
    }
    answer = api.post(TEMPLATE, body, access_token=mp)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert isinstance(answer["msgid"], int)
    assert api.post(TEMPLATE, {**body, "template_id": ""}, access_token=mp)["errcode"] == 40037
    assert api.post(TEMPLATE, {**body, "touser": "o_gone"}, access_token=mp)["errcode"] == 43004
    assert [(m.to, m.kind) for m in fake.messages()] == [("o1", "template")]
    # Outside the 48-hour window does not matter for templates.
    fake.set_users(outside_window=["o1"])
    assert api.post(TEMPLATE, body, access_token=mp)["errcode"] == 0


def test_mass_send_by_openids_and_clientmsgid_dedup(
    api: Api, clock: Clock, fake: FakeWeChat, mp: str
) -> None:
    body = {
        "touser": ["o1", "o2", "o3"],
        "msgtype": "text",
        "text": {"content": "本周六闭馆"},
        "clientmsgid": "notice-2026-11-21",
    }
    single = {**body, "touser": ["o1"]}
    assert api.post(MASS_SEND, single, access_token=mp)["errcode"] == 40130

    answer = api.post(MASS_SEND, body, access_token=mp)
    assert answer["errcode"] == 0 and answer["errmsg"] == "send job submission success"
    assert isinstance(answer["msg_id"], int)
    assert [m.to for m in fake.messages()] == ["o1", "o2", "o3"]

    again = api.post(MASS_SEND, body, access_token=mp)
    assert again == {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": answer["msg_id"]}
    assert len(fake.messages()) == 3

    clock.advance(24 * 3600)
    assert api.post(MASS_SEND, body, access_token=mp)["errcode"] == 42001  # a day is long
    assert api.post(MASS_SEND, body, access_token=api.mp_token())["errcode"] == 0
    assert len(fake.messages()) == 6


def test_mass_send_without_clientmsgid_dedups_on_scope_and_content(
    api: Api, fake: FakeWeChat, mp: str
) -> None:
    body = {"touser": ["o1", "o2"], "msgtype": "text", "text": {"content": "新书到馆"}}
    assert api.post(MASS_SEND, body, access_token=mp)["errcode"] == 0
    assert api.post(MASS_SEND, body, access_token=mp)["errcode"] == 45065
    other = {**body, "text": {"content": "讲座预告"}}
    assert api.post(MASS_SEND, other, access_token=mp)["errcode"] == 0
    assert len(fake.messages()) == 4


def test_mass_send_limits(api: Api, mp: str) -> None:
    too_many = {"touser": [f"o{i}" for i in range(10_001)], "msgtype": "text"}
    too_many["text"] = {"content": "x"}
    assert api.post(MASS_SEND, too_many, access_token=mp)["errcode"] != 0
    long_id = {"touser": ["o1", "o2"], "msgtype": "text", "text": {"content": "x"}}
    long_id["clientmsgid"] = "x" * 65
    assert api.post(MASS_SEND, long_id, access_token=mp)["errcode"] == 45067


# -- tags and mass send by tag -----------------------------------------------------------------


def test_tags_and_membership(api: Api, mp: str) -> None:
    created = api.post("/cgi-bin/tags/create", {"tag": {"name": "研究生"}}, access_token=mp)
    tag = created["tag"]["id"]
    assert created == {"tag": {"id": tag, "name": "研究生"}}
    assert api.post("/cgi-bin/tags/create", {"tag": {"name": "研究生"}}, access_token=mp)[
        "errcode"
    ] == (45157)
    long_name = {"tag": {"name": "一二三四五六七八九十一"}}  # 33 bytes
    assert api.post("/cgi-bin/tags/create", long_name, access_token=mp)["errcode"] == 45158

    tagging = {"openid_list": ["o1", "o2", "o3"], "tagid": tag}
    ok = {"errcode": 0, "errmsg": "ok"}
    assert api.post("/cgi-bin/tags/members/batchtagging", tagging, access_token=mp) == ok
    untag = {"openid_list": ["o2"], "tagid": tag}
    assert api.post("/cgi-bin/tags/members/batchuntagging", untag, access_token=mp) == ok
    fifty_one = {"openid_list": [f"o{i}" for i in range(51)], "tagid": tag}
    assert api.post("/cgi-bin/tags/members/batchtagging", fifty_one, access_token=mp)[
        "errcode"
    ] == (40032)
    unknown = {"openid_list": ["o1"], "tagid": 999}
    assert api.post("/cgi-bin/tags/members/batchtagging", unknown, access_token=mp)["errcode"] == (
        45159
    )

    members = api.post("/cgi-bin/user/tag/get", {"tagid": tag, "next_openid": ""}, access_token=mp)
    assert members == {"count": 2, "data": {"openid": ["o1", "o3"]}, "next_openid": "o3"}
    rest = api.post("/cgi-bin/user/tag/get", {"tagid": tag, "next_openid": "o3"}, access_token=mp)
    assert rest["count"] == 0
    assert api.post("/cgi-bin/tags/getidlist", {"openid": "o1"}, access_token=mp) == {
        "tagid_list": [tag]
    }

    listed = api.get("/cgi-bin/tags/get", access_token=mp)["tags"]
    assert {"id": tag, "name": "研究生", "count": 2} in listed
    renamed = {"tag": {"id": tag, "name": "研究生读者"}}
    assert api.post("/cgi-bin/tags/update", renamed, access_token=mp) == ok
    system = {"tag": {"id": 2, "name": "x"}}
    assert api.post("/cgi-bin/tags/update", system, access_token=mp)["errcode"] == 45058
    assert api.post("/cgi-bin/tags/delete", {"tag": {"id": 2}}, access_token=mp)["errcode"] == (
        45058
    )
    assert api.post("/cgi-bin/tags/delete", {"tag": {"id": tag}}, access_token=mp) == ok
    assert all(t["id"] != tag for t in api.get("/cgi-bin/tags/get", access_token=mp)["tags"])


def test_mass_send_by_tag_reaches_its_members(api: Api, fake: FakeWeChat, mp: str) -> None:
    tag = api.post("/cgi-bin/tags/create", {"tag": {"name": "本科生"}}, access_token=mp)["tag"][
        "id"
    ]
    tagging = {"openid_list": ["o1", "o2", "o_gone"], "tagid": tag}
    api.post("/cgi-bin/tags/members/batchtagging", tagging, access_token=mp)
    fake.set_users(unfollowed=["o_gone"])
    body = {
        "filter": {"is_to_all": False, "tag_id": tag},
        "msgtype": "mpnews",
        "mpnews": {"media_id": "MEDIA_NEWSLETTER_11"},
        "send_ignore_reprint": 0,
        "clientmsgid": "newsletter-11",
    }
    answer = api.post(MASS_ALL, body, access_token=mp)
    assert answer["errcode"] == 0
    assert {"msg_id", "msg_data_id"} <= set(answer)
    assert [(m.to, m.kind, m.via) for m in fake.messages()] == [
        ("o1", "mpnews", MASS_ALL),
        ("o2", "mpnews", MASS_ALL),
    ]
    assert [(d.to, d.reason) for d in fake.dropped()] == [("o_gone", "unfollowed")]
    missing_tag = {**body, "filter": {"is_to_all": False, "tag_id": 4242}, "clientmsgid": "n2"}
    assert api.post(MASS_ALL, missing_tag, access_token=mp)["errcode"] == 45159

    fake.set_users(followers=["o1", "o2", "o9"])
    to_all = {**body, "filter": {"is_to_all": True}, "clientmsgid": "n3"}
    assert api.post(MASS_ALL, to_all, access_token=mp)["errcode"] == 0
    assert [m.to for m in fake.messages()][2:] == ["o1", "o2", "o9"]


# -- menus -------------------------------------------------------------------------------------

MENU = {
    "button": [
        {"type": "click", "name": "开馆时间", "key": "HOURS"},
        {
            "name": "服务",
            "sub_button": [
                {"type": "view", "name": "馆藏检索", "url": "https://lib.example/opac"},
                {"type": "click", "name": "联系馆员", "key": "HUMAN"},
            ],
        },
    ]
}


def test_menu_create_get_and_delete(api: Api, mp: str) -> None:
    assert api.post(MENU_CREATE, MENU, access_token=mp) == {"errcode": 0, "errmsg": "ok"}
    stored = api.get("/cgi-bin/menu/get", access_token=mp)["menu"]["button"]
    assert stored[0] == {"type": "click", "name": "开馆时间", "key": "HOURS", "sub_button": []}
    assert stored[1]["sub_button"][1]["key"] == "HUMAN"
    info = api.get("/cgi-bin/get_current_selfmenu_info", access_token=mp)
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"][0]["url"] == (
        "https://lib.example/opac"
    )
    assert api.get("/cgi-bin/menu/delete", access_token=mp)["errcode"] == 0
    assert api.get("/cgi-bin/menu/get", access_token=mp)["errcode"] == 46003


def _leaf(**fields: Any) -> dict[str, Any]:
    return {"type": "click", "name": "好", "key": "K", **fields}


def _subs(*subs: dict[str, Any]) -> dict[str, Any]:
    return {"button": [{"name": "更多", "sub_button": list(subs)}]}


@pytest.mark.parametrize(
    ("menu", "code"),
    [
        ({"button": []}, 40016),
        ({"button": [_leaf()] * 4}, 40016),
        ({"button": [_leaf(type="teleport")]}, 40017),
        ({"button": [_leaf(name="")]}, 40018),
        ({"button": [_leaf(name="图书馆开放时间")]}, 40018),  # 21 bytes > 16
        ({"button": [_leaf(key="")]}, 40019),
        ({"button": [{"type": "view", "name": "网页"}]}, 40020),
        ({"button": [{"type": "view", "name": "网页", "url": "lib.example"}]}, 40055),
        (_subs(*[_leaf()] * 6), 40023),
        (_subs(_leaf(type="teleport")), 40024),
        (_subs(_leaf(name="")), 40025),
        (_subs(_leaf(key="k" * 129)), 40026),
        (_subs({"type": "view", "name": "网页", "url": ""}), 40027),
        (_subs({"type": "view", "name": "网页", "url": "ftp://x"}), 40054),
    ],
)
def test_menu_validation(api: Api, mp: str, menu: dict[str, Any], code: int) -> None:
    assert api.post(MENU_CREATE, menu, access_token=mp)["errcode"] == code
    assert api.get("/cgi-bin/menu/get", access_token=mp)["errcode"] == 46003


def test_menu_with_escaped_chinese_is_refused(api: Api, mp: str) -> None:
    url = f"{api.url}{MENU_CREATE}?access_token={mp}"
    escaped = json.dumps(MENU).encode()  # ensure_ascii: 开馆时间 -> \u5f00...
    assert api.session.post(url, data=escaped, timeout=5).json()["errcode"] == 40033


def test_work_menus_are_per_agent(api: Api, work: str) -> None:
    assert api.post(MENU_CREATE, MENU, access_token=work, agentid=1000002)["errcode"] == 0
    answer = api.get("/cgi-bin/menu/get", access_token=work, agentid=1000002)
    assert answer["errcode"] == 0 and answer["button"][0]["key"] == "HOURS"
    assert api.get("/cgi-bin/menu/get", access_token=work, agentid=1000003)["errcode"] == 46003
    assert api.post(MENU_CREATE, MENU, access_token=work)["errcode"] == 41011
    bad = {"button": [_leaf(key="")]}
    assert api.post(MENU_CREATE, bad, access_token=work, agentid=1000002)["errcode"] == 40019


# -- parametric QR codes -----------------------------------------------------------------------


def qr(action: str, **scene: Any) -> dict[str, Any]:
    return {"action_name": action, "action_info": {"scene": scene}}


def test_a_permanent_code_has_a_ticket_and_a_url_and_never_expires(
    api: Api, fake: FakeWeChat, mp: str
) -> None:
    first = api.post(QR_CREATE, qr("QR_LIMIT_STR_SCENE", scene_str="seat:A001"), access_token=mp)
    assert set(first) == {"ticket", "url"}
    assert first["url"].startswith("http://weixin.qq.com/q/") and first["ticket"]
    # Each call is a new code: remembering them is the client's job.
    second = api.post(QR_CREATE, qr("QR_LIMIT_STR_SCENE", scene_str="seat:A001"), access_token=mp)
    assert second["url"] != first["url"] and second["ticket"] != first["ticket"]
    numeric = api.post(QR_CREATE, qr("QR_LIMIT_SCENE", scene_id=100_000), access_token=mp)
    assert set(numeric) == {"ticket", "url"}
    calls = fake.calls(QR_CREATE)
    assert [(c.account, c.body["action_info"]["scene"]) for c in calls] == [
        (f"mp:{APPID}", {"scene_str": "seat:A001"}),
        (f"mp:{APPID}", {"scene_str": "seat:A001"}),
        (f"mp:{APPID}", {"scene_id": 100_000}),
    ]
    assert calls[0].response == first


def test_a_temporary_code_expires(api: Api, mp: str) -> None:
    default = api.post(QR_CREATE, qr("QR_STR_SCENE", scene_str="login:1"), access_token=mp)
    assert default["expire_seconds"] == 60
    month = 30 * 24 * 3600
    longest = {"expire_seconds": month + 1, **qr("QR_SCENE", scene_id=7)}
    assert api.post(QR_CREATE, longest, access_token=mp)["expire_seconds"] == month


@pytest.mark.parametrize(
    "body",
    [
        qr("QR_FOREVER", scene_str="seat:A001"),
        {"action_name": "QR_LIMIT_STR_SCENE"},
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": "seat:A001"},
        qr("QR_LIMIT_STR_SCENE", scene_id=1),
        qr("QR_LIMIT_STR_SCENE", scene_str=""),
        qr("QR_LIMIT_STR_SCENE", scene_str="座" * 22),  # 66 bytes > 64
        qr("QR_LIMIT_SCENE", scene_id=100_001),
        qr("QR_LIMIT_SCENE", scene_id=0),
        qr("QR_SCENE", scene_id="7"),
        {"expire_seconds": 0, **qr("QR_SCENE", scene_id=7)},
    ],
)
def test_a_malformed_qr_request_is_refused(api: Api, mp: str, body: dict[str, Any]) -> None:
    answer = api.post(QR_CREATE, body, access_token=mp)
    assert answer["errcode"] == 40053 and "ticket" not in answer


def test_qr_codes_need_an_mp_token_and_honour_faults(
    api: Api, fake: FakeWeChat, mp: str, work: str
) -> None:
    body = qr("QR_LIMIT_STR_SCENE", scene_str="room:T201")
    assert api.post(QR_CREATE, body)["errcode"] == 41001
    assert api.post(QR_CREATE, body, access_token=work)["errcode"] == 40001
    fake.inject(path=QR_CREATE, errcode=45009)
    assert api.post(QR_CREATE, body, access_token=mp)["errcode"] == 45009
    assert fake.calls(QR_CREATE)[-1].fault == "errcode"
    assert "url" in api.post(QR_CREATE, body, access_token=mp)


# -- WeCom messages ----------------------------------------------------------------------------


def test_work_send_shape_and_invalid_users(api: Api, fake: FakeWeChat, work: str) -> None:
    answer = api.post(WORK_SEND, work_text("alice|bob"), access_token=work)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert answer["invaliduser"] == "" and isinstance(answer["msgid"], str)
    assert [(m.channel, m.to, m.kind) for m in fake.messages()] == [
        ("work", "alice", "text"),
        ("work", "bob", "text"),
    ]

    fake.set_users(wecom_members=["alice", "Carol"])
    answer = api.post(WORK_SEND, work_text("alice|Mallory|carol"), access_token=work)
    assert answer["errcode"] == 0 and answer["invaliduser"] == "mallory"
    assert [m.to for m in fake.messages()][2:] == ["alice", "Carol"]
    assert api.post(WORK_SEND, work_text("mallory|eve"), access_token=work)["errcode"] == 81013
    assert api.post(WORK_SEND, work_text(""), access_token=work)["errcode"] == 81013

    everyone = api.post(WORK_SEND, work_text("@all"), access_token=work)
    assert everyone["errcode"] == 0
    assert [m.to for m in fake.messages()][4:] == ["alice", "Carol"]


def test_work_send_checks_its_fields(api: Api, fake: FakeWeChat, work: str) -> None:
    thousand_and_one = "|".join(f"u{i}" for i in range(1001))
    assert api.post(WORK_SEND, work_text(thousand_and_one), access_token=work)["errcode"] == 40032
    thousand = "|".join(f"u{i}" for i in range(1000))
    assert api.post(WORK_SEND, work_text(thousand), access_token=work)["errcode"] == 0
    no_agent = work_text("alice")
    del no_agent["agentid"]
    assert api.post(WORK_SEND, no_agent, access_token=work)["errcode"] == 41011
    assert api.post(WORK_SEND, work_text("alice", content=""), access_token=work)["errcode"] == (
        44004
    )
    assert len(fake.messages()) == 1000


def test_work_duplicate_check(api: Api, clock: Clock, fake: FakeWeChat, work: str) -> None:
    body = work_text("alice", enable_duplicate_check=1, duplicate_check_interval=600)
    first = api.post(WORK_SEND, body, access_token=work)
    second = api.post(WORK_SEND, body, access_token=work)
    assert first["errcode"] == second["errcode"] == 0
    assert len(fake.messages(to="alice")) == 1
    assert [c.fault for c in fake.calls(WORK_SEND)] == [None, "duplicate"]

    clock.advance(600)
    api.post(WORK_SEND, body, access_token=work)
    assert len(fake.messages(to="alice")) == 2

    unchecked = work_text("bob")
    api.post(WORK_SEND, unchecked, access_token=work)
    api.post(WORK_SEND, unchecked, access_token=work)
    assert len(fake.messages(to="bob")) == 2
    too_long = work_text("bob", enable_duplicate_check=1, duplicate_check_interval=4 * 3600 + 1)
    assert api.post(WORK_SEND, too_long, access_token=work)["errcode"] == 40058


def test_work_drops_more_than_30_a_minute_to_one_member(
    api: Api, clock: Clock, fake: FakeWeChat, work: str
) -> None:
    for n in range(35):
        answer = api.post(
            WORK_SEND, work_text("alice|bob" if n == 0 else "alice"), access_token=work
        )
        assert answer["errcode"] == 0  # WeCom says ok and drops silently
        clock.advance(1)
    assert len(fake.messages(to="alice")) == 30
    assert len(fake.messages(to="bob")) == 1
    assert [d.to for d in fake.dropped(reason="rate_limit")] == ["alice"] * 5
    limited = [c for c in fake.calls(WORK_SEND) if c.fault == "rate_limited"]
    assert len(limited) == 5 and limited[0].dropped == ("alice",)

    clock.advance(60 - 35 + 1)  # the first message has left the one-minute window
    api.post(WORK_SEND, work_text("alice"), access_token=work)
    assert len(fake.messages(to="alice")) == 31


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-1, "system error"),
        (45009, "reach max api daily quota limit"),
        (45011, "api minute-quota reach limit"),
        (45047, "out of response count limit"),
        (45015, "response out of time limit or subscription is canceled"),
        (43004, "require subscribe"),
    ],
)
def test_errcode_fault_answers_and_delivers_nothing(
    api: Api, fake: FakeWeChat, mp: str, code: int, message: str
) -> None:
    fake.inject(path=CUSTOM, errcode=code)
    assert api.post(CUSTOM, text("o1"), access_token=mp) == {"errcode": code, "errmsg": message}
    assert fake.messages() == []
    assert fake.calls(CUSTOM)[-1].fault == "errcode"
    assert api.post(CUSTOM, text("o1"), access_token=mp)["errcode"] == 0  # times=1


def test_errcode_fault_on_wecom_and_times(api: Api, fake: FakeWeChat, work: str) -> None:
    fake.inject(path=WORK_SEND, errcode=81013, times=2)
    answers = [api.post(WORK_SEND, work_text("alice"), access_token=work) for _ in range(3)]
    assert [a["errcode"] for a in answers] == [81013, 81013, 0]
    assert answers[0]["errmsg"] == "user & party & tag all invalid"
    assert len(fake.messages()) == 1


def test_delay_fault(api: Api, fake: FakeWeChat, mp: str) -> None:
    fake.inject(path=CUSTOM, delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        api.raw("POST", CUSTOM, text("o1"), timeout=0.05, access_token=mp)
    fake.inject(path=CUSTOM, delay=0.05)
    assert api.post(CUSTOM, text("o2"), access_token=mp)["errcode"] == 0
    fake.inject(path=CUSTOM, delay=0.05, errcode=45011)
    assert api.post(CUSTOM, text("o3"), access_token=mp)["errcode"] == 45011
    faults = {c.body["touser"]: c.fault for c in fake.calls(CUSTOM)}
    assert faults["o2"] == "delay" and faults["o3"] == "delay+errcode"
    assert "o2" in [m.to for m in fake.messages()] and fake.messages(to="o3") == []


def test_drop_fault_closes_the_connection(api: Api, fake: FakeWeChat, mp: str) -> None:
    fake.inject(path=CUSTOM, drop=True)
    with pytest.raises(requests.ConnectionError):
        api.raw("POST", CUSTOM, text("o1"), access_token=mp)
    call = fake.calls(CUSTOM)[0]
    assert (call.status, call.response, call.fault) == (None, None, "drop")
    assert fake.messages() == []
    assert api.post(CUSTOM, text("o1"), access_token=mp)["errcode"] == 0


def test_status_fault(api: Api, fake: FakeWeChat, mp: str) -> None:
    fake.inject(path=CUSTOM, status=502)
    response = api.raw("POST", CUSTOM, text("o1"), access_token=mp)
    assert response.status_code == 502
    assert fake.calls(CUSTOM)[0].fault == "status"
    assert fake.messages() == []


def test_match_limits_a_fault_to_some_calls(api: Api, fake: FakeWeChat, mp: str) -> None:
    fake.inject(path=CUSTOM, errcode=45015, times=None, match={"touser": "oX"})
    for to in ["oX", "oY", "oX", "oY"]:
        api.post(CUSTOM, text(to), access_token=mp)
    assert [m.to for m in fake.messages()] == ["oY", "oY"]
    fake.clear_faults()
    assert api.post(CUSTOM, text("oX"), access_token=mp)["errcode"] == 0


def test_fault_without_path_hits_any_endpoint_even_the_token(api: Api, fake: FakeWeChat) -> None:
    fake.inject(errcode=-1)
    assert api.get("/cgi-bin/gettoken", corpid=CORPID, corpsecret="s")["errcode"] == -1
    assert fake.token_fetches() == 0
    assert api.work_token() != ""


def test_inject_refuses_nonsense(fake: FakeWeChat) -> None:
    with pytest.raises(ValueError):
        fake.inject(path=CUSTOM)
    with pytest.raises(ValueError):
        fake.inject(path=CUSTOM, status=200)
    with pytest.raises(ValueError):
        fake.inject(path=CUSTOM, errcode=-1, times=0)


# -- the server itself -------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(fake: FakeWeChat, mp: str) -> None:
    assert fake.url is not None
    host, port = fake.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    body = json.dumps(text("o1"), ensure_ascii=False).encode()
    for _ in range(3):
        connection.request("POST", f"{CUSTOM}?access_token={mp}", body=body)
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") is not None
        assert json.loads(response.read())["errcode"] == 0
    sock = connection.sock
    assert sock is not None  # never closed between requests
    connection.close()
    assert len(fake.messages()) == 3


def test_concurrent_calls_are_all_recorded(api: Api, fake: FakeWeChat, mp: str) -> None:
    def send(worker: int) -> None:
        client = Api(api.url)
        for n in range(25):
            assert client.post(CUSTOM, text(f"o{worker}-{n}"), access_token=mp)["errcode"] == 0

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delivered = fake.messages()
    assert len({m.to for m in delivered}) == 200
    assert [m.seq for m in delivered] == sorted({m.seq for m in delivered})


def test_stop_closes_the_server(clock: Clock) -> None:
    fake = FakeWeChat(clock=clock)
    url = fake.start()
    session = requests.Session()
    assert session.get(url + "/_fake/health", timeout=5).json() == {"ok": True}
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url + "/_fake/health", timeout=2)
    fake.stop()  # twice is fine


def test_start_refuses_a_non_loopback_host() -> None:
    with pytest.raises(ValueError):
        FakeWeChat().start(host="0.0.0.0")


# -- control API ---------------------------------------------------------------------------------


def test_control_api_from_another_client(api: Api, fake: FakeWeChat, mp: str) -> None:
    control = Api(api.url)
    assert control.get("/_fake/health") == {"ok": True}
    fault = {"path": CUSTOM, "errcode": 45009, "match": {"touser": "o1"}}
    assert control.post("/_fake/faults", fault) == {"ok": True}
    assert api.post(CUSTOM, text("o1"), access_token=mp)["errcode"] == 45009
    api.post(CUSTOM, text("o2"), access_token=mp)

    calls = control.get("/_fake/calls", path=CUSTOM)["calls"]
    assert [(c["body"]["touser"], c["fault"]) for c in calls] == [("o1", "errcode"), ("o2", None)]
    assert control.get("/_fake/calls", path=CUSTOM, since_seq=calls[0]["seq"])["calls"] == calls[1:]
    messages = control.get("/_fake/messages", to="o2", channel="mp")["messages"]
    assert [(m["to"], m["kind"], m["content"]["text"]["content"]) for m in messages] == [
        ("o2", "text", "您预约的座位明天 08:00 开始")
    ]
    assert control.get("/_fake/messages", channel="work")["messages"] == []
    assert control.get("/_fake/token_fetches", account=f"mp:{APPID}") == {"count": 1}

    assert control.post("/_fake/users", {"unfollowed": ["o3"]}) == {"ok": True}
    assert api.post(CUSTOM, text("o3"), access_token=mp)["errcode"] == 43004
    control.post("/_fake/invalidate_tokens", {})
    assert api.post(CUSTOM, text("o2"), access_token=mp)["errcode"] == 40001
    fresh = api.mp_token()
    control.post("/_fake/expire_tokens", {})
    assert api.post(CUSTOM, text("o2"), access_token=fresh)["errcode"] == 42001

    last = fake.calls()[-1].seq
    assert control.post("/_fake/reset", {}) == {"ok": True}
    assert control.get("/_fake/calls")["calls"] == []
    assert control.get("/_fake/messages")["messages"] == []
    token = api.mp_token()
    assert control.get("/_fake/calls")["calls"][0]["seq"] > last  # numbers never repeat
    assert api.post(CUSTOM, text("o3"), access_token=token)["errcode"] == 0  # users reset too


def test_control_api_rejects_bad_requests(api: Api) -> None:
    assert api.raw("POST", "/_fake/faults", {"path": CUSTOM}).status_code == 400
    assert api.raw("POST", "/_fake/faults", {"path": CUSTOM, "errcode": 1, "x": 1}).status_code == (
        400
    )
    assert api.raw("POST", "/_fake/users", {"unfollowed": "o1"}).status_code == 400
    assert api.raw("GET", "/_fake/calls", since_seq="soon").status_code == 400
    assert api.raw("GET", "/_fake/nothing").status_code == 404


def test_control_api_dropped_and_advance(api: Api, fake: FakeWeChat, work: str) -> None:
    for _ in range(31):
        api.post(WORK_SEND, work_text("alice"), access_token=work)
    dropped = api.get("/_fake/dropped", reason="rate_limit")["dropped"]
    assert [(d["to"], d["channel"]) for d in dropped] == [("alice", "work")]
    api.post("/_fake/advance", {"seconds": 60})
    api.post(WORK_SEND, work_text("alice"), access_token=work)
    assert len(fake.messages(to="alice")) == 31


# -- command line --------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.dev.fake_wechat", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/_fake/health", timeout=5).json() == {"ok": True}
        query = {"corpid": "w", "corpsecret": "s"}
        token = requests.get(url + "/cgi-bin/gettoken", params=query, timeout=5)
        assert token.json()["errcode"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_cli_refuses_a_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.fake_wechat", "--host", "0.0.0.0", "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
