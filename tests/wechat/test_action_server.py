"""Rasa's action-server protocol at POST /actions/webhook, serving the same actions."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import TZ
from handlers import feedback

NOW = datetime(2026, 12, 31, 10, 0, tzinfo=TZ)  # closed for maintenance
OUTSIDE = {"REMOTE_ADDR": "203.0.113.5"}


def action_call(
    action: str = "action_opening_hours",
    text: str = "几点开门",
    intent: str = "opening_hours",
    *,
    sender: str = "mp:oX",
    domain: dict[str, Any] | None = None,
    with_domain: bool = True,
    active_loop: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
) -> dict[str, Any]:
    call: dict[str, Any] = {
        "next_action": action,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": slots or {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.97},
                "entities": [],
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": active_loop or {},
            "latest_action_name": None,
        },
        "version": "3.6.0",
    }
    if with_domain:
        call["domain"] = domain if domain is not None else {}
    return call


@pytest.fixture
def actions_client(make_app: Any) -> Any:
    return make_app(clock=lambda: NOW).test_client()


def test_runs_an_action_and_answers_in_rasas_shape(actions_client: Any) -> None:
    response = actions_client.post("/actions/webhook", json=action_call())
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"events", "responses"}
    assert body["events"] == []
    assert len(body["responses"]) == 1
    assert body["responses"][0]["text"].startswith("现在闭馆（年终设备检修），下次开馆：明天 08:30")


def test_events_of_a_form_come_back_as_rasa_events(actions_client: Any, tmp_path: Path) -> None:
    asked = actions_client.post(
        "/actions/webhook", json=action_call("action_feedback", "我要反馈", "feedback")
    ).get_json()
    assert asked["responses"][0]["text"] == feedback.ASK
    assert {"event": "active_loop", "name": feedback.FORM} in [
        {k: e.get(k) for k in ("event", "name")} for e in asked["events"]
    ]

    stored = actions_client.post(
        "/actions/webhook",
        json=action_call(
            "action_feedback",
            "四楼太吵了请管理一下",
            "out_of_scope",
            active_loop={"name": feedback.FORM},
        ),
    ).get_json()
    (ref,) = re.findall(r"FK\d{6}", stored["responses"][0]["text"])
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in stored["events"]
    ]
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        assert db.execute("SELECT ref, channel, user_id, text FROM tickets").fetchall() == [
            (ref, "mp", "oX", "四楼太吵了请管理一下")
        ]


def test_a_bare_rasa_sender_id_is_its_own_channel(actions_client: Any, tmp_path: Path) -> None:
    response = actions_client.post(
        "/actions/webhook",
        json=action_call("action_feedback", "反馈：三楼空调太冷", "feedback", sender="42"),
    )
    assert response.status_code == 200
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        assert db.execute("SELECT channel, user_id FROM tickets").fetchall() == [("rasa", "42")]


def test_user_facing_error_is_a_response_not_a_failure(actions_client: Any) -> None:
    response = actions_client.post(
        "/actions/webhook",
        json=action_call(
            "action_feedback", "太吵", "out_of_scope", active_loop={"name": feedback.FORM}
        ),
    )
    assert response.status_code == 200
    assert response.get_json() == {"events": [], "responses": [{"text": feedback.TOO_SHORT}]}


def test_unknown_action_is_404(actions_client: Any) -> None:
    response = actions_client.post("/actions/webhook", json=action_call("action_no_such_thing"))
    assert response.status_code == 404
    assert response.get_json()["action_name"] == "action_no_such_thing"


def test_missing_domain_is_449(actions_client: Any) -> None:
    response = actions_client.post("/actions/webhook", json=action_call(with_domain=False))
    assert response.status_code == 449
    assert response.get_json()["action_name"] == "action_opening_hours"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"next_action": "action_opening_hours"}', b'"text"'],
    ids=["broken", "array", "no-tracker", "string"],
)
def test_bad_bodies_are_400(actions_client: Any, body: bytes) -> None:
    response = actions_client.post("/actions/webhook", data=body, content_type="application/json")
    assert response.status_code == 400


def test_an_action_call_without_next_action_is_400(actions_client: Any) -> None:
    call = action_call()
    del call["next_action"]
    assert actions_client.post("/actions/webhook", json=call).status_code == 400


@pytest.mark.parametrize(
    ("actions_token", "remote", "query", "status"),
    [
        ("", "127.0.0.1", "", 200),
        ("", "::1", "", 200),
        ("", "203.0.113.5", "", 403),
        ("", "10.0.0.8", "", 403),
        ("t", "203.0.113.5", "?token=t", 200),
        ("t", "203.0.113.5", "?token=wrong", 403),
        ("t", "203.0.113.5", "", 403),
        ("t", "127.0.0.1", "", 403),  # with a token set, every caller must send it
        ("t", "127.0.0.1", "?token=t", 200),
    ],
)
def test_access_is_loopback_or_token(
    make_app: Any, actions_token: str, remote: str, query: str, status: int
) -> None:
    client = make_app(clock=lambda: NOW, actions_token=actions_token).test_client()
    response = client.post(
        "/actions/webhook" + query, json=action_call(), environ_base={"REMOTE_ADDR": remote}
    )
    assert response.status_code == status
    if status == 403:
        assert "LIBBOT_ACTIONS_TOKEN" in response.get_json()["error"]


def test_forbidden_callers_run_nothing(make_app: Any, tmp_path: Path) -> None:
    client = make_app(clock=lambda: NOW).test_client()
    response = client.post(
        "/actions/webhook",
        json=action_call("action_feedback", "反馈：三楼空调太冷", "feedback"),
        environ_base=OUTSIDE,
    )
    assert response.status_code == 403
    with sqlite3.connect(tmp_path / "guanban.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM tickets").fetchone() == (0,)


def test_only_post_is_served(actions_client: Any) -> None:
    assert actions_client.get("/actions/webhook").status_code == 405
