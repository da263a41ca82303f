"""/dev/chat: a phone-like chat page for trying the bot without WeChat (demo mode only).

The page's messages do not take a shortcut: each one is built by the same fake WeChat peer
as the tests use — signed and encrypted with the configured keys — and posted through the
app's real /wechat/mp or /wechat/work endpoint; the reply is decrypted the way WeChat would.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from bot import outbox
from bot.callback_client import peer_for
from bot.protocol import ProtocolError
from bot.runtime import Runtime
from bot.values import CHANNELS, MP

blueprint = Blueprint("devchat", __name__, template_folder="templates")

EVENT_NAMES = {
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
    "click": "CLICK",
    "scan": "SCAN",
}
MAX_TEXT = 2000


def _runtime() -> Runtime:
    return current_app.extensions["guanban"]


@blueprint.get("/dev/chat")
def page() -> str:
    menu = _runtime().services.library.get("menu", {}).get("buttons", [])
    name = _runtime().services.library.get("library", {}).get("name", "图书馆")
    return render_template("devchat.html", menu=menu, library_name=name)


@blueprint.post("/dev/chat/send")
def send() -> tuple[Response, int]:
    data: dict[str, Any] = request.get_json(silent=True) or {}
    channel = data.get("channel", MP)
    user = str(data.get("user") or "").strip()[:64]
    if channel not in CHANNELS or not user:
        return jsonify(error="channel must be mp or work, and user must be given"), 400
    runtime = _runtime()
    try:
        peer = peer_for(runtime.settings, channel)
    except ValueError as error:
        return jsonify(error=str(error)), 400
    kind = data.get("kind", "text")
    if kind == "text":
        text = str(data.get("text") or "")[:MAX_TEXT]
        callback = peer.text(user, text)
    elif kind in EVENT_NAMES:
        callback = peer.event(user, EVENT_NAMES[kind], str(data.get("key") or "")[:128])
    else:
        return jsonify(error=f"unknown kind {kind!r}"), 400
    response = current_app.test_client().post(
        callback.url_path, data=callback.body.encode(), content_type="text/xml"
    )
    if response.status_code != 200:
        return jsonify(error=response.get_data(as_text=True).strip()), 502
    try:
        fields = peer.read_reply(response.get_data())
    except ProtocolError as error:
        return jsonify(error=f"reply did not verify: {error.reason}"), 502
    return jsonify(reply=_reply_json(fields), mode=peer.mode), 200


@blueprint.get("/dev/chat/pushed")
def pushed() -> tuple[Response, int]:
    """Messages queued for this reader (late replies, notices), newest last."""
    channel = request.args.get("channel", MP)
    user = request.args.get("user", "")
    rows = outbox.for_recipient(_runtime().services.db(), channel, user)
    return jsonify(
        messages=[
            {"id": r["id"], "kind": r["kind"], "status": r["status"], "payload": r["payload"]}
            for r in rows
        ]
    ), 200


def _reply_json(fields: dict[str, str]) -> dict[str, Any]:
    if not fields:
        return {"type": "empty"}
    if fields.get("MsgType") == "news":
        return {"type": "news", "text": fields.get("Articles", "")}
    return {"type": "text", "text": fields.get("Content", "")}
