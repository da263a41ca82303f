"""Tickets in the staff console and API: lists (crisis first, overdue in red), the thread,
replies that reach the reader through the outbox, owners, due times, close and reopen — and
every change in the audit log."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import staff, users
from bot.core.clock import TZ, isoformat
from bot.core.db import connect
from bot.core.outbox import PRIORITY_NOTICE
from bot.core.values import MP, WORK, Incoming
from handlers import crisis
from handlers.tickets import desk as ticket_desk
from handlers.tickets import store as tickets
from handlers.tickets.store import FEEDBACK, HANDOFF
from tests.conftest import Clock, Console, delivery_settings

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # a Monday
CRISIS_TEXT = crisis.TICKET_PREFIX + "我真的撑不下去了"
ROW = re.compile(r'<tr class="([^"]*)" data-ref="([A-Z]{2}\d{6})">(.*?)</tr>', re.S)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def desk(make_app: Any, clock: Clock) -> Console:
    """ann (staff) logged in to the console; bob is a colleague."""
    console = Console(make_app(cookie_secure=False, clock=clock))
    console.add_staff("ann", "staff")
    console.add_staff("bob", "staff")
    assert console.login("ann").status_code == 302
    return console


def open_ticket(
    console: Console,
    text: str,
    *,
    kind: str = FEEDBACK,
    user: str = "oReader",
    channel: str = MP,
    age: timedelta = timedelta(0),
    due_in: timedelta = timedelta(hours=24),
) -> str:
    return tickets.create(
        console.services.db(),
        kind=kind,
        channel=channel,
        user_id=user,
        text=text,
        now=console.services.now() - age,
        due_in=due_in,
    )


@pytest.fixture
def workload(desk: Console) -> dict[str, str]:
    """A crisis hand-off, an overdue feedback, bob's hand-off, a closed feedback."""
    db = desk.services.db()
    refs = {
        "overdue": open_ticket(
            desk, "三楼空调太冷了", user="oCold", age=timedelta(hours=26, minutes=30)
        ),
        "bobs": open_ticket(desk, "想预约研究室", kind=HANDOFF, user="oRoom"),
        "crisis": open_ticket(
            desk,
            CRISIS_TEXT,
            kind=HANDOFF,
            user="oSad",
            age=timedelta(minutes=10),
            due_in=timedelta(hours=1),
        ),
        "closed": open_ticket(desk, "借书证丢了", user="oCard", age=timedelta(days=3)),
    }
    ticket_desk.assign(db, refs["bobs"], NOW, owner="bob")
    ticket_desk.close(db, refs["closed"], "bob", NOW - timedelta(days=2))
    return refs


def outbox_rows(console: Console) -> list[dict[str, Any]]:
    rows = console.services.db()["outbox"].rows_where(order_by="id")
    return [{**row, "payload": json.loads(row["payload"])} for row in rows]


def audit_rows(console: Console, action: str) -> list[dict[str, Any]]:
    rows = console.services.db()["audit_log"].rows_where("action = ?", [action], order_by="id")
    return [
        {**row, "before": json.loads(row["before"] or "null"), "after": json.loads(row["after"])}
        for row in rows
    ]


def listed(html: str) -> list[tuple[str, str, str]]:
    """(row classes, ref, row html) for each ticket row of a list page."""
    return [(m.group(1).split(), m.group(2), m.group(3)) for m in ROW.finditer(html)]


def page(console: Console, url: str) -> str:
    response = console.client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


# -- the service: the thread ----------------------------------------------------------------


def test_the_crisis_prefix_is_the_one_the_crisis_action_writes() -> None:
    assert tickets.CRISIS_PREFIX == crisis.TICKET_PREFIX


def test_the_thread_holds_the_readers_words_and_what_they_added(desk: Console) -> None:
    db = desk.services.db()
    ref = open_ticket(desk, "", kind=HANDOFF)  # 「转人工」 alone: no words yet
    tickets.append(db, ref, "我的借书证丢了", NOW)
    tickets.append(db, ref, "还有续借的问题", NOW + timedelta(minutes=3))
    ticket = ticket_desk.detail(db, ref, NOW)
    assert ticket is not None
    assert ticket["text"] == "我的借书证丢了\n还有续借的问题"  # as before
    assert [(m["author"], m["text"], m["at"]) for m in ticket["messages"]] == [
        ("reader", "我的借书证丢了", isoformat(NOW)),
        ("reader", "还有续借的问题", isoformat(NOW + timedelta(minutes=3))),
    ]


def test_the_migration_gives_older_tickets_their_thread(tmp_path: Path) -> None:
    db = connect(tmp_path / "old.sqlite3")
    tickets.migrations.apply(db, stop_before="create_ticket_messages")
    db.execute(
        "INSERT INTO tickets (ref, kind, channel, user_id, text, created_at, updated_at, due_at) "
        "VALUES ('FK000001', 'feedback', 'mp', 'oOld', ?, ?, ?, ?)",
        ["四楼太吵\n晚上尤其", isoformat(NOW), isoformat(NOW), isoformat(NOW)],
    )
    db.execute(
        "INSERT INTO tickets (ref, kind, channel, user_id, text, created_at, updated_at, due_at) "
        "VALUES ('RG000002', 'handoff', 'mp', 'oOld', '', ?, ?, ?)",
        [isoformat(NOW), isoformat(NOW), isoformat(NOW)],
    )
    tickets.migrations.apply(db)
    assert db.execute("SELECT ticket_id, author, text, at FROM ticket_messages").fetchall() == [
        (1, "reader", "四楼太吵\n晚上尤其", isoformat(NOW))
    ]


# -- the API ----------------------------------------------------------------------------------


def refs(response: Any) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["ref"] for item in response.json["items"]]


def test_api_list_puts_crisis_first_and_filters(desk: Console, workload: dict[str, str]) -> None:
    token = desk.api_token("ann")
    listing = desk.api("GET", "/api/v1/tickets/", token)
    assert refs(listing) == [workload["crisis"], workload["overdue"], workload["bobs"]]
    assert listing.json["total"] == 3
    first, second, third = listing.json["items"]
    assert first["crisis"] is True and first["overdue"] is False
    assert second["overdue"] is True and second["crisis"] is False
    assert third["owner"] == "bob" and third["kind"] == "handoff"
    assert set(first) == {
        "ref",
        "kind",
        "channel",
        "user_id",
        "text",
        "status",
        "owner",
        "created_at",
        "updated_at",
        "due_at",
        "closed_at",
        "crisis",
        "overdue",
    }
    assert second["due_at"] == isoformat(NOW - timedelta(hours=2, minutes=30))

    def query(args: str) -> list[str]:
        return refs(desk.api("GET", f"/api/v1/tickets/?{args}", token))

    assert query("status=closed") == [workload["closed"]]
    assert len(query("status=all")) == 4
    assert query("kind=feedback") == [workload["overdue"]]
    assert query("overdue=true") == [workload["overdue"]]
    assert query("crisis=true") == [workload["crisis"]]
    assert query("owner=bob") == [workload["bobs"]]
    assert query("owner=unassigned") == [workload["crisis"], workload["overdue"]]
    assert query("owner=mine") == []
    assert query("owner=mine&status=all") == []
    assert refs(desk.api("GET", "/api/v1/tickets/?owner=mine", desk.api_token("bob"))) == [
        workload["bobs"]
    ]
    assert query(f"q={workload['overdue'].lower()}") == [workload["overdue"]]
    assert query("q=空调") == [workload["overdue"]]
    assert query("q=oRoom") == [workload["bobs"]]
    assert query("q=50%25") == []  # a LIKE wildcard is a character, not "anything"
    assert query("status=all&q=借书证") == [workload["closed"]]

    paged = desk.api("GET", "/api/v1/tickets/?per_page=2&page=2", token)
    assert refs(paged) == [workload["bobs"]]
    assert (paged.json["page"], paged.json["per_page"], paged.json["total"]) == (2, 2, 3)


@pytest.mark.parametrize(
    "args", ["status=pending", "kind=complaint", "per_page=0", "overdue=maybe", "q=" + "x" * 101]
)
def test_api_list_refuses_bad_filters(desk: Console, args: str) -> None:
    response = desk.api("GET", f"/api/v1/tickets/?{args}", desk.api_token("ann"))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert args.split("=")[0] in json.dumps(response.json["error"]["details"])


def test_api_detail_has_the_thread(desk: Console, workload: dict[str, str]) -> None:
    token = desk.api_token("ann")
    response = desk.api("GET", f"/api/v1/tickets/{workload['crisis']}", token)
    assert response.status_code == 200
    assert response.json["crisis"] is True and response.json["user_id"] == "oSad"
    assert [(m["author"], m["text"]) for m in response.json["messages"]] == [
        ("reader", CRISIS_TEXT)
    ]
    lower = desk.api("GET", f"/api/v1/tickets/{workload['crisis'].lower()}", token)
    assert lower.json["ref"] == workload["crisis"]
    missing = desk.api("GET", "/api/v1/tickets/FK999999", token)
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "not_found"
    assert "FK999999" in missing.json["error"]["message"]


def test_api_reply_queues_one_message_for_the_reader(
    desk: Console, workload: dict[str, str], clock: Clock
) -> None:
    token = desk.api_token("ann")
    ref = workload["overdue"]
    response = desk.api("POST", f"/api/v1/tickets/{ref}/reply", token, json={"text": "  已调高  "})
    assert response.status_code == 200
    assert response.json["owner"] == "ann"  # the first to answer owns it (首问责任制)
    assert response.json["status"] == "open"
    reply = response.json["messages"][-1]
    assert (reply["author"], reply["staff_username"], reply["text"]) == ("staff", "ann", "已调高")
    assert reply["delivery"] == "queued"
    [row] = outbox_rows(desk)
    assert (row["channel"], row["recipient"], row["kind"]) == (MP, "oCold", "ticket_reply")
    assert row["payload"] == {"type": "text", "content": f"【馆员回复 · {ref}】已调高"}
    assert row["priority"] == PRIORITY_NOTICE
    assert row["idempotency_key"] == f"ticket-reply:{reply['id']}"

    # The same words again at once (a retry after a timeout) are the same reply.
    again = desk.api("POST", f"/api/v1/tickets/{ref}/reply", token, json={"text": "已调高"})
    assert again.status_code == 200 and len(again.json["messages"]) == 2
    assert len(outbox_rows(desk)) == 1
    clock.now += timedelta(minutes=2)
    later = desk.api("POST", f"/api/v1/tickets/{ref}/reply", token, json={"text": "已调高"})
    assert len(later.json["messages"]) == 3 and len(outbox_rows(desk)) == 2
    # Someone else's reply does not take the ticket from its owner.
    desk.api("POST", f"/api/v1/tickets/{ref}/reply", desk.api_token("bob"), json={"text": "补充"})
    assert tickets.get(desk.services.db(), ref)["owner"] == "ann"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"text": ""}, "empty"),
        ({"text": " \n "}, "empty"),
        ({"text": "长" * 1001}, "at most 1000"),
        ({}, "Missing data"),
        ({"text": 42}, "Not a valid string"),
        ({"text": "好", "extra": 1}, "Unknown field"),
    ],
)
def test_api_reply_refuses_bad_input(
    desk: Console, workload: dict[str, str], body: dict[str, Any], said: str
) -> None:
    response = desk.api(
        "POST", f"/api/v1/tickets/{workload['overdue']}/reply", desk.api_token("ann"), json=body
    )
    assert response.status_code == 422
    assert said in json.dumps(response.json["error"]["details"])
    assert outbox_rows(desk) == []


def test_a_reply_of_exactly_1000_characters_goes(desk: Console, workload: dict[str, str]) -> None:
    ref = workload["overdue"]
    text = "好" * 1000
    response = desk.api(
        "POST", f"/api/v1/tickets/{ref}/reply", desk.api_token("ann"), json={"text": text}
    )
    assert response.status_code == 200
    assert outbox_rows(desk)[0]["payload"]["content"] == f"【馆员回复 · {ref}】{text}"


def test_api_reply_to_an_unknown_ticket_is_404(desk: Console) -> None:
    response = desk.api(
        "POST", "/api/v1/tickets/RG123456/reply", desk.api_token("ann"), json={"text": "好"}
    )
    assert response.status_code == 404
    assert outbox_rows(desk) == []


def test_a_ticket_from_a_channel_we_cannot_send_to_refuses_replies(desk: Console) -> None:
    ref = open_ticket(desk, "来自 Rasa 的问题", channel="rasa", user="42")
    response = desk.api(
        "POST", f"/api/v1/tickets/{ref}/reply", desk.api_token("ann"), json={"text": "好"}
    )
    assert response.status_code == 422
    assert "channel" in json.dumps(response.json["error"]["details"])
    assert outbox_rows(desk) == []


def test_api_close_with_a_last_reply_then_reopen(
    desk: Console, workload: dict[str, str], clock: Clock
) -> None:
    token = desk.api_token("ann")
    ref = workload["overdue"]
    closed = desk.api("POST", f"/api/v1/tickets/{ref}/close", token, json={"reply": "已处理"})
    assert closed.status_code == 200
    assert (closed.json["status"], closed.json["closed_at"]) == ("closed", isoformat(NOW))
    assert closed.json["overdue"] is False and closed.json["owner"] == "ann"
    [row] = outbox_rows(desk)
    assert row["recipient"] == "oCold"
    assert row["payload"]["content"] == f"【馆员回复 · {ref}】已处理"

    again = desk.api("POST", f"/api/v1/tickets/{ref}/close", token)
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"

    # A reply to a closed ticket is sent, and the ticket stays closed.
    desk.api("POST", f"/api/v1/tickets/{ref}/reply", token, json={"text": "新空调明天到"})
    assert desk.api("GET", f"/api/v1/tickets/{ref}", token).json["status"] == "closed"
    assert len(outbox_rows(desk)) == 2

    clock.now += timedelta(hours=1)
    reopened = desk.api("POST", f"/api/v1/tickets/{ref}/reopen", token)
    assert reopened.status_code == 200
    assert reopened.json["status"] == "open" and reopened.json["closed_at"] is None
    # A fresh due time (the library's 24 hours), not the long-passed one.
    assert reopened.json["due_at"] == isoformat(clock.now + timedelta(hours=24))
    assert reopened.json["overdue"] is False
    assert desk.api("POST", f"/api/v1/tickets/{ref}/reopen", token).status_code == 409


def test_api_close_without_a_reply_sends_nothing(desk: Console, workload: dict[str, str]) -> None:
    token = desk.api_token("ann")
    for body in (None, {}, {"reply": "  "}):
        ref = open_ticket(desk, "又一条反馈")
        kwargs = {} if body is None else {"json": body}
        response = desk.api("POST", f"/api/v1/tickets/{ref}/close", token, **kwargs)
        assert response.status_code == 200 and response.json["status"] == "closed"
    assert outbox_rows(desk) == []
    too_long = desk.api(
        "POST", f"/api/v1/tickets/{workload['bobs']}/close", token, json={"reply": "长" * 1001}
    )
    assert too_long.status_code == 422
    assert desk.api("GET", f"/api/v1/tickets/{workload['bobs']}", token).json["status"] == "open"
    for action in ("close", "reopen"):
        assert desk.api("POST", f"/api/v1/tickets/XX000001/{action}", token).status_code == 404


def test_api_patch_sets_owner_and_due_time(desk: Console, workload: dict[str, str]) -> None:
    token = desk.api_token("ann")
    url = f"/api/v1/tickets/{workload['crisis']}"
    response = desk.api("PATCH", url, token, json={"owner": "BOB", "due_at": "2026-11-23T12:00"})
    assert response.status_code == 200
    assert response.json["owner"] == "bob"  # as the account spells it
    assert response.json["due_at"] == "2026-11-23T12:00:00+08:00"
    utc = desk.api("PATCH", url, token, json={"due_at": "2026-11-23T06:00:00Z"})
    assert utc.json["due_at"] == "2026-11-23T14:00:00+08:00" and utc.json["owner"] == "bob"
    assert desk.api("PATCH", url, token, json={"owner": None}).json["owner"] is None

    bob = staff.by_username(desk.services.db(), "bob")
    assert bob is not None
    staff.update(desk.services.db(), bob.id, active=False)
    for body, field in [
        ({"owner": "bob"}, "owner"),  # disabled
        ({"owner": "nobody"}, "owner"),
        ({"due_at": "2026-11-22T09:00"}, "due_at"),  # in the past
        ({"due_at": "tomorrow"}, "due_at"),
        ({}, "owner"),
    ]:
        refused = desk.api("PATCH", url, token, json=body)
        assert refused.status_code == 422, body
        assert field in json.dumps(refused.json["error"]["details"]), body
    assert (
        desk.api("PATCH", "/api/v1/tickets/FK999999", token, json={"owner": None}).status_code
        == 404
    )


def test_api_changes_are_audited(desk: Console, workload: dict[str, str]) -> None:
    token = desk.api_token("bob")
    ref = workload["overdue"]
    desk.api("PATCH", f"/api/v1/tickets/{ref}", token, json={"owner": "ann"})
    [entry] = audit_rows(desk, "ticket.assign")
    assert (entry["username"], entry["target"]) == ("bob", f"ticket:{ref}")
    assert entry["before"]["owner"] is None and entry["after"]["owner"] == "ann"


def test_every_ticket_endpoint_needs_a_staff_token(desk: Console) -> None:
    ref = open_ticket(desk, "三楼空调太冷了")
    endpoints = [
        ("GET", "/api/v1/tickets/"),
        ("GET", f"/api/v1/tickets/{ref}"),
        ("PATCH", f"/api/v1/tickets/{ref}"),
        ("POST", f"/api/v1/tickets/{ref}/reply"),
        ("POST", f"/api/v1/tickets/{ref}/close"),
        ("POST", f"/api/v1/tickets/{ref}/reopen"),
    ]
    mapped = {
        (method, rule.rule)
        for rule in desk.app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/tickets")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(mapped) == len(endpoints)
    desk.add_staff("carol", "counsellor")
    counsellor = desk.api_token("carol")  # any staff role works tickets
    assert desk.api("GET", "/api/v1/tickets/", counsellor).status_code == 200
    carol = staff.by_username(desk.services.db(), "carol")
    assert carol is not None
    staff.update(desk.services.db(), carol.id, active=False)
    for method, url in endpoints:
        for token in (None, "gb_not-a-token", counsellor):
            response = desk.api(method, url, token, json={"text": "好"})
            assert response.status_code == 401, (method, url, token)
            assert response.json["error"]["code"] == "unauthorized"
    assert outbox_rows(desk) == []
    assert tickets.get(desk.services.db(), ref)["status"] == "open"  # type: ignore[index]


def test_the_openapi_document_describes_the_ticket_api(desk: Console) -> None:
    document = desk.api("GET", "/api/v1/openapi.json", desk.api_token("ann")).json
    paths = document["paths"]
    assert set(paths["/api/v1/tickets/{ref}"]) >= {"get", "patch"}
    for action in ("reply", "close", "reopen"):
        assert "post" in paths[f"/api/v1/tickets/{{ref}}/{action}"]
    names = {p["name"] for p in paths["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"status", "kind", "owner", "overdue", "crisis", "q", "page", "per_page"} <= names


# -- the pages ----------------------------------------------------------------------------------


def test_the_list_shows_crisis_first_and_overdue_in_red(
    desk: Console, workload: dict[str, str]
) -> None:
    rows = listed(page(desk, "/console/tickets/"))
    assert [ref for _, ref, _ in rows] == [
        workload["crisis"],
        workload["overdue"],
        workload["bobs"],
    ]
    (crisis_classes, _, crisis_row), (late_classes, _, late_row), (bobs_classes, _, bobs_row) = rows
    assert "crisis" in crisis_classes and "危机" in crisis_row
    assert "overdue" in late_classes  # the row is red (.overdue) …
    assert (
        '<span class="overdue">已超时 2 小时 30 分钟</span>' in late_row
    )  # … and says by how much
    assert "overdue" not in bobs_classes and "还剩 1 天" in bobs_row and "bob" in bobs_row
    assert "overdue" not in crisis_classes and "还剩 50 分钟" in crisis_row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=closed", ["closed"]),
        ("kind=handoff", ["crisis", "bobs"]),
        ("owner=unassigned", ["crisis", "overdue"]),
        ("owner=bob", ["bobs"]),
        ("owner=mine", []),
        ("overdue=1", ["overdue"]),
        ("crisis=1", ["crisis"]),
        ("q=研究室", ["bobs"]),
        ("status=all&q=oCard", ["closed"]),
    ],
)
def test_the_list_filters(
    desk: Console, workload: dict[str, str], query: str, expected: list[str]
) -> None:
    html = page(desk, f"/console/tickets/?{query}")
    assert [ref for _, ref, _ in listed(html)] == [workload[name] for name in expected]
    assert f"共 {len(expected)} 件" in html


def test_a_bad_filter_is_said_in_a_sentence(desk: Console, workload: dict[str, str]) -> None:
    response = desk.client.get("/console/tickets/?status=pending")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "状态须为 open、closed 或 all" in html
    assert len(listed(html)) == 3  # and the open tickets instead


def test_the_list_pages(desk: Console) -> None:
    for n in range(35):
        open_ticket(desk, f"第 {n} 条反馈", age=timedelta(minutes=n))
    first = page(desk, "/console/tickets/?kind=feedback")
    assert len(listed(first)) == 30 and "下一页" in first and "上一页" not in first
    link = re.search(r'href="([^"]+)">下一页', first)
    assert link and "kind=feedback" in link.group(1)
    second = page(desk, link.group(1).replace("&amp;", "&"))
    assert len(listed(second)) == 5 and "上一页" in second and "下一页" not in second


def test_the_detail_shows_the_thread_owner_choice_and_due_time(
    desk: Console, workload: dict[str, str]
) -> None:
    ref = workload["crisis"]
    tickets.append(desk.services.db(), ref, "今晚在宿舍", NOW)
    desk.add_staff("gone", "staff")
    gone = staff.by_username(desk.services.db(), "gone")
    assert gone is not None
    staff.update(desk.services.db(), gone.id, active=False)
    html = page(desk, f"/console/tickets/{ref}")
    assert "紧急 · 危机信号" in html and 'role="alert"' in html
    thread = html.split('id="thread"')[1].split("</ol>")[0]
    assert thread.index(CRISIS_TEXT) < thread.index("今晚在宿舍")
    select = html.split('id="owner-select"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "ann", "bob"]
    assert 'value="2026-11-23T10:50"' in html  # the due time, ready to change
    assert "还剩 50 分钟" in html


def test_an_unknown_ticket_is_said_in_a_sentence(desk: Console, workload: dict[str, str]) -> None:
    missing = desk.client.get("/console/tickets/FK999999")
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert "没有编号为 FK999999 的工单" in html and len(listed(html)) == 3
    for action in ("reply", "close", "reopen", "assign"):
        response = desk.post(f"/console/tickets/FK999999/{action}", {"text": "好", "owner": "bob"})
        assert response.status_code == 404, action
        assert "没有编号为 FK999999 的工单" in response.get_data(as_text=True), action
    assert outbox_rows(desk) == [] and audit_rows(desk, "ticket.reply") == []


def test_a_reply_from_the_page_queues_exactly_one_message(
    desk: Console, workload: dict[str, str]
) -> None:
    ref = workload["overdue"]
    response = desk.post(f"/console/tickets/{ref}/reply", {"text": "已请物业调高温度"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/console/tickets/{ref}"
    [row] = outbox_rows(desk)
    assert (row["channel"], row["recipient"], row["status"]) == (MP, "oCold", "queued")
    assert row["payload"] == {"type": "text", "content": f"【馆员回复 · {ref}】已请物业调高温度"}
    html = page(desk, f"/console/tickets/{ref}")
    assert "回复已保存，正在发送给读者" in html
    thread = html.split('id="thread"')[1].split("</ol>")[0]
    assert "馆员 ann" in thread and "已请物业调高温度" in thread and "待发送" in thread
    [entry] = audit_rows(desk, "ticket.reply")
    assert (entry["username"], entry["target"]) == ("ann", f"ticket:{ref}")
    assert entry["before"] == {
        "status": "open",
        "owner": None,
        "due_at": isoformat(NOW - timedelta(hours=2, minutes=30)),
    }
    assert entry["after"]["owner"] == "ann" and entry["after"]["reply"] == "已请物业调高温度"


@pytest.mark.parametrize(
    ("text", "said"), [("   ", "回复内容不能为空"), ("长" * 1001, "回复最多 1000 个字")]
)
def test_a_bad_reply_is_refused_in_a_sentence_and_the_draft_kept(
    desk: Console, workload: dict[str, str], text: str, said: str
) -> None:
    response = desk.post(f"/console/tickets/{workload['overdue']}/reply", {"text": text})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert said in html and "Traceback" not in html
    if text.strip():
        assert text in html  # nothing typed is lost
    assert outbox_rows(desk) == []
    assert audit_rows(desk, "ticket.reply") == []


def test_close_and_reopen_from_the_page(
    desk: Console, workload: dict[str, str], clock: Clock
) -> None:
    ref = workload["bobs"]
    response = desk.post(f"/console/tickets/{ref}/close", {"text": "研究室已为你预约"})
    assert response.status_code == 302
    html = page(desk, f"/console/tickets/{ref}")
    assert "工单已关闭，回复正在发送给读者" in html
    assert "重新打开工单" in html and 'id="close-ticket"' not in html
    [row] = outbox_rows(desk)
    assert row["recipient"] == "oRoom"
    assert row["payload"]["content"] == f"【馆员回复 · {ref}】研究室已为你预约"
    [closing] = audit_rows(desk, "ticket.close")
    assert closing["before"]["status"] == "open"
    assert closing["after"]["status"] == "closed" and closing["after"]["owner"] == "bob"
    assert closing["after"]["reply"] == "研究室已为你预约"

    assert desk.post(f"/console/tickets/{ref}/close", {"text": ""}).status_code == 409
    assert len(outbox_rows(desk)) == 1

    clock.now += timedelta(minutes=5)
    desk.post(f"/console/tickets/{ref}/reopen")
    html = page(desk, f"/console/tickets/{ref}")
    assert "工单已重新打开" in html and 'id="close-ticket"' in html
    [reopening] = audit_rows(desk, "ticket.reopen")
    assert (reopening["before"]["status"], reopening["after"]["status"]) == ("closed", "open")
    assert reopening["before"]["due_at"] == isoformat(NOW + timedelta(hours=24))
    assert reopening["after"]["due_at"] == isoformat(NOW + timedelta(hours=24, minutes=5))
    desk.post(f"/console/tickets/{ref}/reopen")
    assert "还没有关闭" in page(desk, f"/console/tickets/{ref}")
    assert len(audit_rows(desk, "ticket.reopen")) == 1


def test_close_without_a_reply_sends_nothing(desk: Console, workload: dict[str, str]) -> None:
    ref = workload["overdue"]
    desk.post(f"/console/tickets/{ref}/close", {"text": "  "})
    assert "工单已关闭。" in page(desk, f"/console/tickets/{ref}")
    assert outbox_rows(desk) == []
    assert ref not in [r for _, r, _ in listed(page(desk, "/console/tickets/"))]


def test_owner_and_due_time_from_the_page(desk: Console, workload: dict[str, str]) -> None:
    ref = workload["overdue"]
    desk.post(f"/console/tickets/{ref}/assign", {"owner": "bob", "due_at": "2026-11-24T09:30"})
    html = page(desk, f"/console/tickets/{ref}")
    assert "已保存：负责人 bob，截止 2026-11-24 09:30" in html
    [entry] = audit_rows(desk, "ticket.assign")
    assert entry["before"] == {
        "status": "open",
        "owner": None,
        "due_at": isoformat(NOW - timedelta(hours=2, minutes=30)),
    }
    assert entry["after"] == {
        "status": "open",
        "owner": "bob",
        "due_at": "2026-11-24T09:30:00+08:00",
    }
    # No longer overdue on the list.
    [(classes, _, _)] = [r for r in listed(page(desk, "/console/tickets/")) if r[1] == ref]
    assert "overdue" not in classes

    # Back to nobody, due time as shown: only the owner changes.
    desk.post(f"/console/tickets/{ref}/assign", {"owner": "", "due_at": "2026-11-24T09:30"})
    last = audit_rows(desk, "ticket.assign")[-1]
    assert last["after"]["owner"] is None and last["after"]["due_at"] == entry["after"]["due_at"]

    for form, said in [
        ({"owner": "", "due_at": "2026-11-24T09:30"}, "没有修改"),
        ({"owner": "nobody", "due_at": ""}, "没有名为 nobody 的在用馆员账号"),
        ({"owner": "", "due_at": "next week"}, "截止时间的格式不对"),
        ({"owner": "", "due_at": "2026-11-20T09:30"}, "截止时间不能早于现在"),
    ]:
        desk.post(f"/console/tickets/{ref}/assign", form)
        assert said in page(desk, f"/console/tickets/{ref}"), form
    assert len(audit_rows(desk, "ticket.assign")) == 2


def test_strangers_reach_no_ticket_page(make_app: Any) -> None:
    console = Console(make_app(cookie_secure=False))
    ref = open_ticket(console, "三楼空调太冷了")
    for url in ("/console/tickets/", f"/console/tickets/{ref}"):
        response = console.client.get(url)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    for action in ("reply", "close", "reopen", "assign"):
        response = console.client.post(f"/console/tickets/{ref}/{action}", data={"text": "好"})
        assert response.status_code in (302, 400)
    assert outbox_rows(console) == []


def test_a_counsellor_works_tickets_too(desk: Console, workload: dict[str, str]) -> None:
    desk.add_staff("carol", "counsellor")
    other = Console(desk.app)
    other.login("carol")
    assert "工单" in page(other, "/console/")
    assert (
        other.post(f"/console/tickets/{workload['crisis']}/reply", {"text": "我在"}).status_code
        == 302
    )
    assert outbox_rows(desk)[0]["recipient"] == "oSad"


# -- the dashboard ------------------------------------------------------------------------------


def cards(html: str) -> list[tuple[str, str]]:
    """(classes, text) of each dashboard card."""
    found = re.findall(r'<section class="(card[^"]*)">(.*?)</section>', html, re.S)
    return [
        (classes, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip())
        for classes, body in found
    ]


def ticket_cards(html: str) -> list[tuple[str, str]]:
    return [c for c in cards(html) if "工单" in c[1]]


def test_dashboard_cards(desk: Console, clock: Clock) -> None:
    assert ticket_cards(page(desk, "/console/")) == [("card", "待处理工单 0 没有待处理的工单")]
    ref = open_ticket(desk, "三楼空调太冷了")
    assert ticket_cards(page(desk, "/console/")) == [("card", "待处理工单 1 均未超时")]
    clock.now += timedelta(hours=25)
    open_ticket(desk, CRISIS_TEXT, kind=HANDOFF, due_in=timedelta(hours=1))
    html = page(desk, "/console/")
    assert ticket_cards(html) == [
        ("card alert", "危机信号工单 1 读者可能有危险，请立即联系"),
        ("card alert", "待处理工单 2 其中 1 件已超时"),
    ]
    assert 'href="/console/tickets/?crisis=1"' in html
    assert 'href="/console/tickets/?overdue=1"' in html
    ticket_desk.close(desk.services.db(), ref, "ann", clock.now)
    assert ticket_cards(page(desk, "/console/"))[-1] == ("card", "待处理工单 1 均未超时")


# -- the reply reaches the reader -------------------------------------------------------------


@pytest.mark.parametrize("channel", [MP, WORK])
def test_a_reply_reaches_the_fake_wechat_api(
    make_app: Any, fake_wechat: Any, tmp_path: Path, clock: Clock, channel: str
) -> None:
    from bot.outbound.sender import build_sender

    settings = delivery_settings(tmp_path, fake_wechat.url, mp_send_rate=0, work_send_rate=0)
    desk = Console(make_app(**settings, cookie_secure=False, clock=clock))
    desk.add_staff("ann", "staff")
    desk.login("ann")
    db = desk.services.db()
    reader, quiet = ("oReader", "oQuiet") if channel == MP else ("zhangls", "lisi")
    # The reader wrote an hour ago (WeChat's 48-hour window is open); the quiet one 3 days ago.
    users.touch(db, Incoming(channel, reader, "text", NOW, text="转人工"), NOW - timedelta(hours=1))
    users.touch(db, Incoming(channel, quiet, "text", NOW, text="反馈"), NOW - timedelta(days=3))
    ref = open_ticket(desk, "研究室怎么预约", kind=HANDOFF, user=reader, channel=channel)
    late = open_ticket(desk, "四楼太吵", user=quiet, channel=channel, age=timedelta(days=3))
    desk.post(f"/console/tickets/{ref}/reply", {"text": "可以在座位系统里预约研究室"})
    desk.post(f"/console/tickets/{late}/reply", {"text": "已提醒管理员"})

    assert fake_wechat.messages() == []  # only queued: the sender delivers later
    build_sender(desk.services).drain()
    [message] = fake_wechat.messages(to=reader)
    assert message.channel == channel and message.kind == "text"
    assert message.content["text"]["content"] == f"【馆员回复 · {ref}】可以在座位系统里预约研究室"
    thread = page(desk, f"/console/tickets/{ref}").split('id="thread"')[1]
    assert "已发出" in thread
    if channel == MP:
        # Outside the 48 hours the 公众号 cannot send it, and the thread says so.
        assert fake_wechat.messages(to=quiet) == []
        assert "无法送达" in page(desk, f"/console/tickets/{late}").split('id="thread"')[1]
    else:
        assert len(fake_wechat.messages(to=quiet)) == 1  # WeCom has no such window
