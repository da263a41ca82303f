"""Readers in the console and the API: search, profile, history, roles, bans — and what a
banned reader gets from the bot (through the real webhook)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import outbox, users
from bot.core.clock import isoformat
from bot.core.values import Incoming
from bot.dev.callback_client import WeChatPeer
from handlers import crisis, feedback
from handlers.tickets import handoff
from tests.browser_support import BROWSER_MARKS, PHONE, open_page
from tests.conftest import STAFF_PASSWORD, Clock, Console
from tests.wechat.test_router import NOW, rows, say, send

READER = "oReaderZhang"
PROFILE = f"/console/readers/mp/{READER}"
API = f"/api/v1/readers/mp/{READER}"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def console(make_app: Any, clock: Clock) -> Console:
    console = Console(make_app(cookie_secure=False, clock=clock))
    for name, role in [("ann", "staff"), ("carl", "counsellor"), ("ada", "admin")]:
        console.add_staff(name, role)
    return console


@pytest.fixture
def chat(console: Console, mp_peer: WeChatPeer) -> Callable[..., str]:
    """The reader writing to the bot through the webhook of the console's own app."""
    return lambda text, user=READER: say(console.client, mp_peer, text, user)


def touch(console: Console, user_id: str, when: Any, channel: str = "mp") -> None:
    incoming = Incoming(channel=channel, user_id=user_id, kind="text", time=when, text="")
    users.touch(console.services.db(), incoming, when)


def audit_rows(tmp_path: Path, prefix: str = "reader.") -> list[tuple[Any, ...]]:
    found = rows(
        tmp_path,
        "SELECT username, action, target, before, after FROM audit_log WHERE action LIKE ? "
        "ORDER BY id",
        prefix + "%",
    )
    return [(u, a, t, json.loads(b or "null"), json.loads(f or "null")) for u, a, t, b, f in found]


def page_text(console: Console, url: str) -> str:
    response = console.client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


# -- search ------------------------------------------------------------------------------------


@pytest.fixture
def crowd(console: Console) -> Console:
    """25 readers, one more recent than the next; three with names and student numbers."""
    db = console.services.db()
    for n in range(25):
        touch(console, f"oCrowd{n:02d}", NOW - timedelta(minutes=n))
    users.update_profile(db, "mp", "oCrowd03", name="张三", student_no="2023011001")
    users.update_profile(db, "mp", "oCrowd07", name="张三丰", student_no="2023011002")
    users.update_profile(db, "mp", "oCrowd09", name="李四", student_no="2024020001")
    touch(console, "zhangsan", NOW - timedelta(hours=3), channel="work")
    return console


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("张三", ["oCrowd03", "oCrowd07"]),  # part of a name
        ("2023011", ["oCrowd03", "oCrowd07"]),  # start of a student number
        ("2024020001", ["oCrowd09"]),
        ("oCrowd1", [f"oCrowd{n}" for n in range(10, 20)]),  # start of an openid
        ("zhang", ["zhangsan"]),  # a WeCom userid
        ("%", []),  # LIKE's wildcards are plain characters
        ("_", []),
        ("nobody", []),
    ],
)
def test_search_by_id_name_and_student_number(crowd: Console, query: str, expected: list) -> None:
    token = crowd.api_token("carl")  # any staff role may search
    response = crowd.api("GET", "/api/v1/readers/", token, query_string={"q": query})
    assert response.status_code == 200
    assert [r["user_id"] for r in response.json["items"]] == expected
    assert response.json["total"] == len(expected)
    crowd.login("carl")
    response = crowd.client.get("/console/readers/", query_string={"q": query})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    listed = re.findall(r'href="/console/readers/(?:mp|work)/([^"]+)"', html)
    assert listed == expected
    assert f"找到 {len(expected)} 位读者" in html
    if not expected:
        assert "没有找到匹配的读者" in html


def test_the_list_is_paginated_most_recent_first(crowd: Console) -> None:
    token = crowd.api_token("ann")
    first = crowd.api("GET", "/api/v1/readers/", token, query_string={"per_page": 10})
    assert first.json["total"] == 26 and first.json["page"] == 1
    assert [r["user_id"] for r in first.json["items"]] == [f"oCrowd{n:02d}" for n in range(10)]
    third = crowd.api("GET", "/api/v1/readers/", token, query_string={"per_page": 10, "page": 3})
    assert [r["user_id"] for r in third.json["items"]] == [
        *(f"oCrowd{n}" for n in range(20, 25)),
        "zhangsan",
    ]
    bad = crowd.api("GET", "/api/v1/readers/", token, query_string={"per_page": 1000})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid"

    crowd.login("ann")
    html = page_text(crowd, "/console/readers/")
    assert "共 26 位读者" in html
    assert "oCrowd19" in html and "oCrowd20" not in html  # 20 a page
    assert "下一页" in html and "上一页" not in html
    second = page_text(crowd, "/console/readers/?page=2")
    assert "oCrowd20" in second and "zhangsan" in second and "oCrowd19" not in second
    assert "上一页" in second and "下一页" not in second
    assert "企业微信" in second


# -- profile and history -------------------------------------------------------------------------


@pytest.fixture
def known_reader(console: Console, chat: Callable[..., str], tmp_path: Path) -> Console:
    """A reader with a feedback ticket, a message not understood and two messages sent."""
    assert chat("我要反馈") == feedback.ASK
    assert re.search(r"FK\d{6}", chat("三楼的空调太冷了"))
    chat("asdfgh")
    db = console.services.db()
    users.update_profile(db, "mp", READER, name="张晓", student_no="2023011234", college="文学院")
    users.update_profile(db, "mp", READER, grade="2023", reader_type="student")
    for n, text in enumerate(["座位 A101 已为你保留", "本周六闭馆"]):
        outbox.enqueue(
            db,
            channel="mp",
            recipient=READER,
            kind="notice",
            payload={"type": "text", "content": text},
            idempotency_key=f"test:{n}",
            now=NOW,
        )
    db.execute(
        "UPDATE outbox SET status = 'undeliverable', last_error = 'outside the 48-hour window' "
        "WHERE idempotency_key = 'test:1'"
    )
    return console


def test_the_profile_shows_the_reader_and_their_history(known_reader: Console) -> None:
    known_reader.login("carl")  # a counsellor may look
    html = page_text(known_reader, PROFILE)
    for expected in [
        "张晓",
        READER,
        "2023011234",
        "文学院",
        "学生",
        "公众号",
        "2026-11-23 10:00",  # first seen and last interaction
        "48 小时客服消息窗口开放中（还剩约 48 小时）",
        "关注中",
        "读者",
        "FK000001",
        "三楼的空调太冷了",
        "待处理",
        "asdfgh",
        "没听懂",
        "座位 A101 已为你保留",
        "待发送",
        "本周六闭馆",
        "无法送达",
    ]:
        assert expected in html, expected
    assert 'href="/console/tickets/FK000001"' in html  # the ticket's own page
    # A counsellor sees no forms to change roles or bans.
    assert "保存角色" not in html and "解除停用" not in html and 'name="until"' not in html


def test_the_api_gives_the_same_profile_and_history(known_reader: Console) -> None:
    token = known_reader.api_token("carl")
    reader = known_reader.api("GET", API, token).json
    assert reader == {
        "channel": "mp",
        "user_id": READER,
        "name": "张晓",
        "student_no": "2023011234",
        "college": "文学院",
        "grade": "2023",
        "reader_type": "student",
        "first_seen": isoformat(NOW),
        "last_interaction": isoformat(NOW),
        "window_open": True,
        "window_closes_at": isoformat(NOW + timedelta(hours=48)),
        "subscribed": True,
        "roles": ["reader"],
        "ban": None,
    }
    history = known_reader.api("GET", f"{API}/history", token).json
    [ticket] = history["tickets"]
    assert (ticket["ref"], ticket["kind"], ticket["status"]) == ("FK000001", "feedback", "open")
    assert ticket["text"] == "三楼的空调太冷了"
    [missed] = history["unrecognised"]
    assert (missed["text"], missed["reason"]) == ("asdfgh", "out_of_scope")
    assert [(m["summary"], m["status"]) for m in history["messages"]] == [
        ("本周六闭馆", "undeliverable"),
        ("座位 A101 已为你保留", "queued"),
    ]
    assert history["messages"][0]["last_error"] == "outside the 48-hour window"
    limited = known_reader.api("GET", f"{API}/history", token, query_string={"limit": 1}).json
    assert len(limited["messages"]) == 1
    too_many = known_reader.api("GET", f"{API}/history", token, query_string={"limit": 0})
    assert too_many.status_code == 422


def test_the_48_hour_window_closes(known_reader: Console, clock: Clock) -> None:
    token = known_reader.api_token("ann")
    clock.now = NOW + timedelta(hours=48, minutes=1)
    assert known_reader.api("GET", API, token).json["window_open"] is False
    known_reader.login("ann")
    assert "48 小时客服消息窗口已关闭" in page_text(known_reader, PROFILE)


def test_a_wecom_reader_has_no_window(console: Console) -> None:
    touch(console, "lisi", NOW, channel="work")
    token = console.api_token("ann")
    reader = console.api("GET", "/api/v1/readers/work/lisi", token).json
    assert reader["window_open"] is None and reader["window_closes_at"] is None
    console.login("ann")
    html = page_text(console, "/console/readers/work/lisi")
    assert "企业微信：随时可以发消息" in html and "userid" in html


@pytest.mark.parametrize(
    "path", ["mp/oNobody", "sms/oReaderZhang", "mp/oNobody/history", "work/oReaderZhang"]
)
def test_an_unknown_reader_is_404(known_reader: Console, path: str) -> None:
    token = known_reader.api_token("ann")
    response = known_reader.api("GET", f"/api/v1/readers/{path}", token)
    assert response.status_code == 404
    assert response.json["error"] == {
        "code": "not_found",
        "message": "no such reader",
        "details": None,
    }
    known_reader.login("ann")
    if not path.endswith("history"):
        assert known_reader.client.get(f"/console/readers/{path}").status_code == 404
    for method, url, body in [
        ("PATCH", f"/api/v1/readers/{path}", {"roles": ["staff"]}),
        ("POST", f"/api/v1/readers/{path}/ban", {"until": "2026-12-01T00:00", "reason": "x"}),
        ("DELETE", f"/api/v1/readers/{path}/ban", None),
    ]:
        if path.endswith("history"):
            continue
        response = known_reader.api(method, url, token, json=body)
        assert response.status_code == 404, (method, url)


# -- roles -------------------------------------------------------------------------------------


def test_staff_change_roles_on_the_page_and_it_is_audited(
    known_reader: Console, tmp_path: Path
) -> None:
    known_reader.login("ann")
    html = page_text(known_reader, PROFILE)
    assert "保存角色" in html
    response = known_reader.post(f"{PROFILE}/roles", {"roles": ["reader", "counsellor"]})
    assert response.status_code == 302 and response.headers["Location"] == PROFILE
    reader = users.get(known_reader.services.db(), "mp", READER)
    assert reader is not None and reader["roles"] == ["counsellor", "reader"]
    assert "已更新角色" in page_text(known_reader, PROFILE)
    assert "阅读疗法馆员" in page_text(known_reader, PROFILE)
    assert audit_rows(tmp_path) == [
        (
            "ann",
            "reader.roles",
            f"reader:mp:{READER}",
            {"roles": ["reader"]},
            {"roles": ["counsellor", "reader"]},
        )
    ]


@pytest.mark.parametrize(
    ("roles", "message"),
    [([], "请至少保留一个角色"), (["reader", "librarian-in-chief"], "没有这个角色")],
)
def test_bad_roles_on_the_page_are_refused_kindly(
    known_reader: Console, tmp_path: Path, roles: list[str], message: str
) -> None:
    known_reader.login("ann")
    response = known_reader.post(f"{PROFILE}/roles", {"roles": roles}, follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    reader = users.get(known_reader.services.db(), "mp", READER)
    assert reader is not None and reader["roles"] == ["reader"]
    assert audit_rows(tmp_path) == []


def test_roles_through_the_api(known_reader: Console, tmp_path: Path) -> None:
    token = known_reader.api_token("ada")
    response = known_reader.api("PATCH", API, token, json={"roles": ["staff", "reader"]})
    assert response.status_code == 200
    assert response.json["roles"] == ["reader", "staff"]
    for body in ({"roles": []}, {"roles": ["wizard"]}, {}, {"roles": "staff"}):
        bad = known_reader.api("PATCH", API, token, json=body)
        assert bad.status_code == 422, body
        assert bad.json["error"]["code"] == "invalid"
        assert "roles" in bad.json["error"]["details"]["json"]
    # The same roles again change nothing and are not audited twice.
    known_reader.api("PATCH", API, token, json={"roles": ["reader", "staff"]})
    assert audit_rows(tmp_path) == [
        (
            "ada",
            "reader.roles",
            f"reader:mp:{READER}",
            {"roles": ["reader"]},
            {"roles": ["reader", "staff"]},
        )
    ]


def test_counsellors_may_look_but_not_change(known_reader: Console, tmp_path: Path) -> None:
    token = known_reader.api_token("carl")
    until = {"until": isoformat(NOW + timedelta(days=1)), "reason": "测试"}
    for method, url, body in [
        ("PATCH", API, {"roles": ["staff"]}),
        ("POST", f"{API}/ban", until),
        ("DELETE", f"{API}/ban", None),
    ]:
        response = known_reader.api(method, url, token, json=body)
        assert response.status_code == 403, (method, url)
        assert response.json["error"]["code"] == "forbidden"
    known_reader.login("carl")
    for url, form in [
        (f"{PROFILE}/roles", {"roles": ["staff"]}),
        (f"{PROFILE}/ban", until),
        (f"{PROFILE}/unban", {}),
    ]:
        assert known_reader.post(url, form).status_code == 403, url
    reader = users.get(known_reader.services.db(), "mp", READER)
    assert reader is not None and reader["roles"] == ["reader"] and reader["banned_until"] is None
    assert audit_rows(tmp_path) == []


def test_the_api_checks_the_token_before_the_body(known_reader: Console) -> None:
    for method, url in [("PATCH", API), ("POST", f"{API}/ban"), ("DELETE", f"{API}/ban")]:
        response = known_reader.api(method, url, json={"nonsense": True})
        assert response.status_code == 401, (method, url)


# -- bans ----------------------------------------------------------------------------------------

REASON = "多次预约座位未签到"


def ban_on_page(console: Console, until: str, reason: str = REASON) -> str:
    console.login("ann")
    response = console.post(f"{PROFILE}/ban", {"until": until, "reason": reason})
    assert response.status_code == 302 and response.headers["Location"] == PROFILE
    return page_text(console, PROFILE)


def test_a_banned_reader_is_told_why_and_until_when_and_nothing_else_runs(
    known_reader: Console, chat: Callable[..., str], tmp_path: Path
) -> None:
    html = ban_on_page(known_reader, "2026-11-30T18:00")
    assert "已停用该读者的服务，至 2026-11-30 18:00" in html
    assert "停用至 2026-11-30 18:00" in html and REASON in html
    tickets_before = rows(tmp_path, "SELECT count(*) FROM tickets")
    notice = users.BANNED.format(until="11月30日 18:00", reason=REASON + "。")
    for text in ["你好", "今天几点闭馆", "我要反馈", "帮助", "取消", "asdfgh"]:
        assert chat(text) == notice, text
    assert "多次预约座位未签到。" in notice and "11月30日 18:00" in notice
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == tickets_before
    assert rows(tmp_path, "SELECT count(*) FROM unrecognised") == [(1,)]  # the earlier one only
    assert rows(tmp_path, "SELECT intent, count FROM message_stats WHERE intent = 'banned'") == [
        ("banned", 6)
    ]
    # Other readers are served as ever.
    assert chat("你好", "oSomeoneElse").startswith("你好")
    assert audit_rows(tmp_path) == [
        (
            "ann",
            "reader.ban",
            f"reader:mp:{READER}",
            None,
            {"until": "2026-11-30T18:00:00+08:00", "reason": REASON, "in_force": True},
        )
    ]


def test_menu_clicks_and_scans_of_a_banned_reader_are_refused_except_the_human_key(
    known_reader: Console, mp_peer: WeChatPeer, tmp_path: Path
) -> None:
    ban_on_page(known_reader, "2026-11-30T18:00")
    client = known_reader.client
    for key in ("HOURS", "FEEDBACK", "HELP"):
        reply = send(client, mp_peer, mp_peer.event(READER, "CLICK", key))
        assert reply.startswith("抱歉，你暂时无法使用馆伴的服务"), key
    reply = send(client, mp_peer, mp_peer.event(READER, "SCAN", "seat:A101"))
    assert reply.startswith("抱歉，你暂时无法使用馆伴的服务")
    assert handoff.ASK_QUESTION in send(client, mp_peer, mp_peer.event(READER, "CLICK", "HUMAN"))


def test_crisis_help_and_the_human_command_always_work_for_a_banned_reader(
    known_reader: Console, chat: Callable[..., str], tmp_path: Path
) -> None:
    ban_on_page(known_reader, "2026-11-30T18:00")
    assert chat("我不想活了").startswith(crisis.OPENING)
    reply = chat("转人工")
    (ref,) = re.findall(r"RG\d{6}", reply)
    assert handoff.ASK_QUESTION in reply
    # The question after 转人工 reaches the librarian too.
    assert chat("为什么我被停用了") == handoff.RECEIVED.format(ref=ref)
    # (The crisis ticket is still open: 转人工 within the hour adds to it.)
    [(text,)] = rows(tmp_path, "SELECT text FROM tickets WHERE ref = ?", ref)
    assert text.endswith("我不想活了\n为什么我被停用了")
    # While that crisis hand-off is open the ban is paused: the crisis answer invited the
    # reader to go on talking. Once a librarian closes it, the ban holds again.
    assert chat("你好").startswith("你好")
    from handlers.tickets import desk

    desk.close(known_reader.services.db(), ref, "ann", known_reader.services.now())
    assert chat("你好").startswith("抱歉，你暂时无法使用馆伴的服务")


def test_lifting_the_ban_restores_service_and_is_audited(
    known_reader: Console, chat: Callable[..., str], tmp_path: Path
) -> None:
    ban_on_page(known_reader, "2026-11-30T18:00")
    assert chat("你好").startswith("抱歉")
    response = known_reader.post(f"{PROFILE}/unban", {})
    assert response.status_code == 302
    html = page_text(known_reader, PROFILE)
    assert "已恢复该读者的服务" in html and "停用中" not in html
    assert chat("你好").startswith("你好")
    assert "闭馆" in chat("今天几点闭馆") or "开馆" in chat("今天几点闭馆")
    lifted = audit_rows(tmp_path)[-1]
    assert lifted[:3] == ("ann", "reader.unban", f"reader:mp:{READER}")
    assert lifted[3] == {"until": "2026-11-30T18:00:00+08:00", "reason": REASON, "in_force": True}
    # Lifting again: nothing to lift, said so, not audited.
    again = known_reader.post(f"{PROFILE}/unban", {}, follow_redirects=True)
    assert "该读者没有被停用" in again.get_data(as_text=True)
    assert [a[1] for a in audit_rows(tmp_path)] == ["reader.ban", "reader.unban"]


def test_a_ban_ends_by_itself_when_its_time_has_passed(
    known_reader: Console, chat: Callable[..., str], clock: Clock
) -> None:
    ban_on_page(known_reader, "2026-11-23T12:00")
    clock.now = NOW.replace(hour=11, minute=59)
    assert chat("你好").startswith("抱歉")
    clock.now = NOW.replace(hour=12, minute=0)
    assert chat("你好").startswith("你好")
    html = page_text(known_reader, PROFILE)
    assert "曾停用至 2026-11-23 12:00（已到期）" in html and "清除已到期的停用记录" in html
    token = known_reader.api_token("ann")
    assert known_reader.api("GET", API, token).json["ban"] == {
        "until": "2026-11-23T12:00:00+08:00",
        "reason": REASON,
        "in_force": False,
    }


def test_a_ban_until_a_past_time_is_no_ban(
    known_reader: Console, chat: Callable[..., str], tmp_path: Path
) -> None:
    # Stored as the table allows (say, by an older tool): the router serves the reader.
    db = known_reader.services.db()
    db.execute(
        "UPDATE users SET banned_until = ?, ban_reason = ? WHERE user_id = ?",
        [isoformat(NOW - timedelta(minutes=1)), REASON, READER],
    )
    assert chat("你好").startswith("你好")
    assert users.banned(db, "mp", READER, NOW) is None
    # And neither page nor API takes one: it is refused with a sentence, nothing changes.
    known_reader.login("ann")
    response = known_reader.post(
        f"{PROFILE}/ban", {"until": "2026-11-23T09:00", "reason": REASON}, follow_redirects=True
    )
    assert "停用的截止时间须晚于现在" in response.get_data(as_text=True)
    token = known_reader.api_token("ann")
    response = known_reader.api(
        "POST", f"{API}/ban", token, json={"until": "2026-11-23T09:00:00", "reason": REASON}
    )
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"until": ["until must be in the future"]}
    assert audit_rows(tmp_path) == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"until": "下周一", "reason": REASON}, "请填写停用到的日期和时间"),
        ({"until": "", "reason": REASON}, "请填写停用到的日期和时间"),
        ({"until": "2026-11-30T18:00", "reason": "   "}, "请写明原因"),
        ({"until": "2026-11-30T18:00", "reason": "太" * 201}, "原因请控制在 200 字以内"),
    ],
)
def test_bad_ban_forms_are_refused_kindly(
    known_reader: Console, tmp_path: Path, form: dict[str, str], message: str
) -> None:
    known_reader.login("ann")
    response = known_reader.post(f"{PROFILE}/ban", form, follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    reader = users.get(known_reader.services.db(), "mp", READER)
    assert reader is not None and reader["banned_until"] is None
    assert audit_rows(tmp_path) == []


def test_bans_through_the_api(
    known_reader: Console, chat: Callable[..., str], tmp_path: Path
) -> None:
    token = known_reader.api_token("ann")
    # Without an offset the time is the library's (Asia/Shanghai).
    response = known_reader.api(
        "POST", f"{API}/ban", token, json={"until": "2026-11-30T18:00", "reason": REASON}
    )
    assert response.status_code == 200
    assert response.json["ban"] == {
        "until": "2026-11-30T18:00:00+08:00",
        "reason": REASON,
        "in_force": True,
    }
    assert chat("你好").startswith("抱歉")
    # With an offset, it is converted.
    response = known_reader.api(
        "POST", f"{API}/ban", token, json={"until": "2026-11-30T12:00:00Z", "reason": "改了"}
    )
    assert response.json["ban"]["until"] == "2026-11-30T20:00:00+08:00"
    for body in (
        {"until": "2026-11-30T18:00"},
        {"reason": REASON},
        {"until": "soon", "reason": REASON},
        {"until": "2026-11-30T18:00", "reason": ""},
        {"until": "2026-11-30T18:00", "reason": "太" * 201},
    ):
        bad = known_reader.api("POST", f"{API}/ban", token, json=body)
        assert bad.status_code == 422, body
        assert bad.json["error"]["code"] == "invalid"
    blank = known_reader.api(
        "POST", f"{API}/ban", token, json={"until": "2026-11-30T18:00", "reason": "  "}
    )
    assert blank.status_code == 422 and "reason" in blank.json["error"]["details"]
    lifted = known_reader.api("DELETE", f"{API}/ban", token)
    assert lifted.status_code == 200 and lifted.json["ban"] is None
    assert chat("你好").startswith("你好")
    again = known_reader.api("DELETE", f"{API}/ban", token)
    assert again.status_code == 200 and again.json["ban"] is None
    assert [(a[1], a[4]) for a in audit_rows(tmp_path)] == [
        (
            "reader.ban",
            {"until": "2026-11-30T18:00:00+08:00", "reason": REASON, "in_force": True},
        ),
        ("reader.ban", {"until": "2026-11-30T20:00:00+08:00", "reason": "改了", "in_force": True}),
        ("reader.unban", None),
    ]


def test_the_ban_notice_names_the_year_only_when_it_is_another(known_reader: Console) -> None:
    ban = {"banned_until": "2027-01-05T08:00:00+08:00", "ban_reason": "借书逾期未还。"}
    notice = users.ban_notice(ban, NOW)
    assert "将于 2027年1月5日 08:00 恢复" in notice and "原因：借书逾期未还。\n" in notice
    ban["banned_until"] = "2026-12-01T08:30:00+08:00"
    assert "将于 12月1日 08:30 恢复" in users.ban_notice(ban, NOW)


def test_reader_routes_are_in_the_openapi_document(console: Console) -> None:
    token = console.api_token("ann")
    paths = console.api("GET", "/api/v1/openapi.json", token).json["paths"]
    assert set(paths["/api/v1/readers/"]) >= {"get"}
    assert set(paths["/api/v1/readers/{channel}/{user_id}"]) >= {"get", "patch"}
    assert set(paths["/api/v1/readers/{channel}/{user_id}/ban"]) >= {"post", "delete"}
    assert "get" in paths["/api/v1/readers/{channel}/{user_id}/history"]


def test_the_readers_menu_entry_is_there_for_every_staff_role(console: Console) -> None:
    for name in ("ann", "carl", "ada"):
        console.login(name)
        assert 'href="/console/readers/"' in page_text(console, "/console/")
        console.post("/console/logout")


# -- in a real browser, on a phone -----------------------------------------------------------------


def browser_test(test: Callable[..., Any]) -> Callable[..., Any]:
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@pytest.fixture
def served_console(served_bot: Callable[..., str], tmp_path: Path) -> Iterator[str]:
    """A served bot with a staff account and a reader with a long history."""
    from bot.core import staff
    from bot.core.clock import system_clock
    from bot.core.db import connect
    from handlers.tickets import store as tickets

    url = served_bot(cookie_secure="0")
    db = connect(tmp_path / "served.sqlite3")  # the database conftest's bot_env points at
    now = system_clock()
    staff.create(db, "ann", STAFF_PASSWORD, "staff", now)
    long_id = "oLongOpenid_" + "x" * 40
    incoming = Incoming(channel="mp", user_id=long_id, kind="text", time=now, text="")
    users.touch(db, incoming, now)
    users.update_profile(db, "mp", long_id, name="欧阳晓明", student_no="20230112345678")
    users.ban(db, "mp", long_id, now + timedelta(days=3), "多次预约座位未签到，" * 8, now)
    for n in range(3):
        tickets.create(
            db,
            kind="feedback",
            channel="mp",
            user_id=long_id,
            text="三楼东侧自习区的空调温度太低了，很多同学都穿着外套，希望调高一点" * 3,
            now=now,
            due_in=timedelta(hours=24),
        )
        outbox.enqueue(
            db,
            channel="mp",
            recipient=long_id,
            kind="notice",
            payload={"type": "text", "content": "本周六（12月5日）因电力检修闭馆一天" * 4},
            idempotency_key=f"browser:{n}",
            now=now,
        )
    db.close()
    yield f"{url}/console/readers/mp/{long_id}"


@browser_test
def test_a_readers_profile_fits_a_phone(browser: Any, served_console: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    context, page, errors = open_page(browser, PHONE)
    try:
        page.goto(served_console)  # not logged in: the login page, then back here
        page.locator("input[name=username]").fill("ann")
        page.locator("input[name=password]").fill(STAFF_PASSWORD)
        page.locator("button[type=submit]").click()
        expect(page.locator("h1")).to_contain_text("欧阳晓明")
        expect(page.locator("h1")).to_contain_text("停用中")
        expect(page.locator("text=保存角色")).to_be_visible()
        assert page.locator("text=本周六（12月5日）因电力检修闭馆一天").count() == 3
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for selector in ("h1", "form >> nth=1", "button.primary >> nth=1"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"], selector
        page.screenshot(path=str(tmp_path / "reader-profile-phone.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
