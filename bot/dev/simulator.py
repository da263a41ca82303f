"""/dev/chat: a phone-like chat page for trying the bot without WeChat (demo mode only).

The page's messages do not take a shortcut: each one is built by the same fake WeChat peer
as the tests use — signed and encrypted with the configured keys — and posted through the
app's real /wechat/mp or /wechat/work endpoint; the reply is decrypted the way WeChat would.

Messages the library sends first (late replies, notices) are shown as the project's fake
WeChat API server received them — what a phone would actually get — when the channel's API
base (LIBBOT_WECHAT_API_BASE / LIBBOT_WORK_API_BASE) is on loopback, as `make run` sets it.
A real WeChat host is never asked: then the page shows the outbox rows only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_xml
import requests
from defusedxml import DefusedXmlException
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from bot.core.clock import TZ, isoformat
from bot.core.values import CHANNELS, MP, WORK
from bot.dev.callback_client import WeChatPeer, peer_for
from bot.dev.fake_wechat.fake import is_loopback
from bot.outbound import outbox
from bot.wechat import protocol
from bot.wechat.protocol import ProtocolError
from bot.wechat.runtime import Runtime

log = logging.getLogger("guanban.devchat")

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
# The page asks every two seconds; a fake that does not answer soon is reported, not awaited.
FAKE_TIMEOUT = 1.5


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
    """What was pushed to this reader, newest last.

    `delivered`: the messages the fake WeChat API server received for the reader since
    `since_seq` (source "fake"), or nothing when the API base is not on loopback (source
    "outbox"); `outbox`: the reader's outbox rows, for their status (queued, failed, …).
    """
    channel = request.args.get("channel", MP)
    user = request.args.get("user", "").strip()[:64]
    if channel not in CHANNELS or not user:
        return jsonify(error="channel must be mp or work, and user must be given"), 400
    try:
        since_seq = int(request.args.get("since_seq") or 0)
    except ValueError:
        return jsonify(error="since_seq must be an integer"), 400
    runtime = _runtime()
    rows = outbox.for_recipient(runtime.services.db(), channel, user)
    answer: dict[str, Any] = {
        "source": "outbox",
        "delivered": [],
        "next_seq": since_seq,
        "outbox": [_outbox_json(row) for row in rows],
    }
    base = fake_base(
        runtime.settings.work_api_base if channel == WORK else runtime.settings.wechat_api_base
    )
    if base is not None:
        answer["source"] = "fake"
        try:
            found = _fetch_delivered(base, channel, user, since_seq)
        except FakeUnreachable as error:
            answer["fake_error"] = str(error)
        else:
            answer["delivered"] = [_delivered_json(m) for m in found]
            answer["next_seq"] = max([since_seq, *(m["seq"] for m in found)])
    return jsonify(answer), 200


def fake_base(api_base: str) -> str | None:
    """The API base when it is the fake server's (plain http on loopback), else None."""
    try:
        parts = urlsplit(api_base.strip())
        host, _port = parts.hostname, parts.port  # .port raises ValueError when malformed
    except ValueError:
        return None
    if parts.scheme != "http" or not host or parts.username is not None or not is_loopback(host):
        return None
    return f"http://{parts.netloc}{parts.path.rstrip('/')}"


class FakeUnreachable(Exception):
    """The fake WeChat API server did not answer its control API as expected."""


def _fetch_delivered(base: str, channel: str, user: str, since_seq: int) -> list[dict[str, Any]]:
    with requests.Session() as session:
        # No proxy from the environment: the fake is on this machine.
        session.trust_env = False
        try:
            response = session.get(
                base + "/_fake/messages",
                params={"to": user, "channel": channel, "since_seq": since_seq},
                timeout=FAKE_TIMEOUT,
                allow_redirects=False,
            )
            response.raise_for_status()
            found = response.json()["messages"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            log.debug("fake WeChat API at %s: %s", base, error)
            raise FakeUnreachable(f"the fake WeChat API at {base} did not answer") from None
    if not isinstance(found, list):
        raise FakeUnreachable(f"the fake WeChat API at {base} answered something else")
    return [m for m in found if isinstance(m, dict) and isinstance(m.get("seq"), int)]


def _outbox_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "payload": row["payload"],
        "error": row.get("last_error") or "",
        "updated_at": row.get("updated_at") or "",
    }


def _delivered_json(message: Mapping[str, Any]) -> dict[str, Any]:
    """One delivered message as the page draws it: the request body turned into a reply."""
    stamp = message.get("time")
    when = isoformat(datetime.fromtimestamp(stamp, TZ)) if isinstance(stamp, int | float) else ""
    kind = str(message.get("kind", ""))
    content = message.get("content")
    body = content if isinstance(content, dict) else {}
    return {
        "seq": message["seq"],
        "time": when,
        "kind": kind,
        "via": str(message.get("via", "")),
        "reply": pushed_reply(kind, body),
    }


def pushed_reply(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A 公众号 / WeCom send request's content as {type: text | news | template, …}."""
    part = body.get(kind)
    part = part if isinstance(part, dict) else {}
    if kind in ("text", "markdown"):
        return {"type": "text", "text": str(part.get("content", ""))}
    if kind == "news":
        articles = [
            {
                "title": str(a.get("title", "")),
                "description": str(a.get("description", "")),
                "image": str(a.get("picurl", "")),
                "url": str(a.get("url", "")),
            }
            for a in part.get("articles") or []
            if isinstance(a, dict)
        ]
        return {
            "type": "news",
            "text": "\n".join(a["title"] for a in articles),
            "articles": articles,
        }
    if kind == "textcard":  # WeCom's card: one title, a description and a link
        article = {
            "title": str(part.get("title", "")),
            "description": str(part.get("description", "")),
            "image": "",
            "url": str(part.get("url", "")),
        }
        return {"type": "news", "text": article["title"], "articles": [article]}
    if kind == "template":
        data = body.get("data")
        fields = [
            {"keyword": str(name), "value": str(value.get("value", ""))}
            for name, value in (data.items() if isinstance(data, dict) else ())
            if isinstance(value, dict)
        ]
        return {
            "type": "template",
            "text": "\n".join(f["value"] for f in fields),
            "fields": fields,
            "url": str(body.get("url", "")),
        }
    # Media, mass-sent articles and the like: the simulator has nothing to draw but the kind.
    return {"type": "text", "text": f"[{kind or '未知'} 消息]"}


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
