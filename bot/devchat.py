"""/dev/chat: a phone-like chat page for trying the bot without WeChat (demo mode only).

The page's messages do not take a shortcut: each one is built by the same fake WeChat peer
as the tests use — signed and encrypted with the configured keys — and posted through the
app's real /wechat/mp or /wechat/work endpoint; the reply is decrypted the way WeChat would.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from bot import outbox, protocol
from bot.callback_client import WeChatPeer, peer_for
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
# What /dev/chat/send reads from its JSON body, with the defaults; all are strings.
_FIELDS = {"channel": MP, "user": "", "kind": "text", "text": "", "key": ""}


def _runtime() -> Runtime:
    return current_app.extensions["guanban"]


@blueprint.get("/dev/chat")
def page() -> str:
    menu = _runtime().services.library.get("menu", {}).get("buttons", [])
    name = _runtime().services.library.get("library", {}).get("name", "图书馆")
    return render_template("devchat.html", menu=menu, library_name=name)


@blueprint.post("/dev/chat/send")
def send() -> tuple[Response, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="the body must be a JSON object"), 400
    fields = {name: _or(data.get(name), default) for name, default in _FIELDS.items()}
    wrong = [name for name, value in fields.items() if not isinstance(value, str)]
    if wrong:
        return jsonify(error=f"{', '.join(wrong)} must be a string"), 400
    channel, kind = fields["channel"], fields["kind"]
    user = fields["user"].strip()[:64]
    if channel not in CHANNELS:
        return jsonify(error=f"channel must be one of {', '.join(CHANNELS)}"), 400
    if not user:
        return jsonify(error="user must be given"), 400
    if kind != "text" and kind not in EVENT_NAMES:
        return jsonify(error=f"kind must be text or one of {', '.join(EVENT_NAMES)}"), 400
    runtime = _runtime()
    try:
        peer = peer_for(runtime.settings, channel)
    except ValueError as error:
        return jsonify(error=str(error)), 400
    if kind == "text":
        callback = peer.text(user, fields["text"][:MAX_TEXT])
    else:
        callback = peer.event(user, EVENT_NAMES[kind], fields["key"][:128])
    response = current_app.test_client().post(
        callback.url_path, data=callback.body.encode(), content_type="text/xml"
    )
    if response.status_code != 200:
        return jsonify(error=response.get_data(as_text=True).strip()), 502
    body = response.get_data()
    try:
        reply = peer.read_reply(body)
        articles = _articles(peer, body) if reply.get("MsgType") == "news" else []
    except ProtocolError as error:
        return jsonify(error=f"reply did not verify: {error.reason}"), 502
    return jsonify(reply=_reply_json(reply, articles), mode=peer.mode), 200


@blueprint.get("/dev/chat/pushed")
def pushed() -> tuple[Response, int]:
    """Messages queued for this reader (late replies, notices), newest last."""
    channel = request.args.get("channel", MP)
    user = request.args.get("user", "").strip()[:64]
    if channel not in CHANNELS or not user:
        return jsonify(error="channel must be mp or work, and user must be given"), 400
    rows = outbox.for_recipient(_runtime().services.db(), channel, user)
    return jsonify(
        messages=[
            {"id": r["id"], "kind": r["kind"], "status": r["status"], "payload": r["payload"]}
            for r in rows
        ]
    ), 200


def _or(value: Any, default: str) -> Any:
    """JSON null (or a missing field) means the default."""
    return default if value is None else value


def _articles(peer: WeChatPeer, body: bytes) -> list[dict[str, str]]:
    """A news reply's articles. read_reply flattens nested elements, and a phone shows each
    article as its own card, so the (already verified) reply is decrypted again here."""
    xml: str | bytes = body
    envelope = protocol.parse_xml(body)
    if "Encrypt" in envelope:
        xml = protocol.decrypt(peer.account, envelope["Encrypt"])
    try:
        root = safe_xml.fromstring(xml, forbid_dtd=True, forbid_entities=True)
    except (DefusedXmlException, ParseError) as error:
        raise ProtocolError(502, f"malformed news reply: {error}") from None
    return [
        {
            "title": item.findtext("Title", ""),
            "description": item.findtext("Description", ""),
            "image": item.findtext("PicUrl", ""),
            "url": item.findtext("Url", ""),
        }
        for item in root.iterfind("Articles/item")
    ]


def _reply_json(fields: dict[str, str], articles: list[dict[str, str]]) -> dict[str, Any]:
    if not fields:
        return {"type": "empty"}
    if fields.get("MsgType") == "news":
        text = "\n".join(a["title"] for a in articles)
        return {"type": "news", "text": text, "articles": articles}
    return {"type": "text", "text": fields.get("Content", "")}
