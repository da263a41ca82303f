"""The control API under /_fake/, for processes that cannot hold the FakeWeChat object
(the demo's web simulator, multi-process tests). JSON in, JSON out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.dev.fake_wechat.fake import FakeWeChat

FAULT_FIELDS = ("path", "errcode", "errmsg", "delay", "drop", "status", "times", "match")
USER_FIELDS = ("unfollowed", "outside_window", "wecom_members", "followers")


class BadRequest(ValueError):
    pass


def _int(query: dict[str, str], name: str) -> int:
    try:
        return int(query.get(name) or 0)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def _object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the body is not a JSON object")
    return value


def _only(data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(unknown)}")
    return data


def handle(
    fake: FakeWeChat, method: str, path: str, query: dict[str, str], raw: bytes
) -> tuple[int, dict[str, Any]]:
    try:
        return _handle(fake, method, path.removeprefix("/_fake/"), query, raw)
    except (BadRequest, ValueError, TypeError) as error:
        return 400, {"error": str(error)}


def _handle(
    fake: FakeWeChat, method: str, name: str, query: dict[str, str], raw: bytes
) -> tuple[int, dict[str, Any]]:
    q = query.get
    if method == "GET":
        if name == "health":
            return 200, {"ok": True}
        if name == "calls":
            calls = fake.calls(q("path") or None, _int(query, "since_seq"))
            return 200, {"calls": [c.to_json() for c in calls]}
        if name == "messages":
            found = fake.messages(q("to") or None, q("channel") or None, _int(query, "since_seq"))
            return 200, {"messages": [m.to_json() for m in found]}
        if name == "dropped":
            drops = fake.dropped(
                q("to") or None, q("channel") or None, q("reason") or None, _int(query, "since_seq")
            )
            return 200, {"dropped": [d.to_json() for d in drops]}
        if name == "token_fetches":
            return 200, {"count": fake.token_fetches(q("account") or None)}
    elif method == "POST":
        data = _object(raw)
        if name == "faults":
            fake.inject(**_only(data, FAULT_FIELDS))
            return 200, {"ok": True}
        if name == "faults/clear":
            fake.clear_faults()
            return 200, {"ok": True}
        if name == "users":
            fake.set_users(**_only(data, USER_FIELDS))
            return 200, {"ok": True}
        if name == "advance":
            fake.advance(float(_only(data, ("seconds",)).get("seconds", 0)))
            return 200, {"ok": True}
        actions = {
            "reset": fake.reset,
            "expire_tokens": fake.expire_tokens,
            "invalidate_tokens": fake.invalidate_tokens,
        }
        if name in actions:
            actions[name]()
            return 200, {"ok": True}
    return 404, {"error": f"no control endpoint {method} /_fake/{name}"}
