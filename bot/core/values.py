"""The plain values that travel between layers: what arrived, and what to answer.

`Incoming` is channel-neutral: the 公众号 and the WeCom app both become one. Replies are
explicit types; bot.wechat.protocol renders them into WeChat's XML. Nothing here imports Flask or
wechatpy, so handlers and intents may use these freely.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

MP = "mp"  # 公众号 (Official Account)
WORK = "work"  # 企业微信 (WeCom) app
CHANNELS = (MP, WORK)


@dataclass(frozen=True)
class Incoming:
    """One message or event from a reader, as every later layer sees it."""

    channel: str
    user_id: str
    kind: str  # text, voice, image, video, location, link, event, ...
    time: datetime
    text: str = ""  # Content, or a voice message's Recognition
    event: str = ""  # subscribe, unsubscribe, click, scan, subscribe_scan, ... (lower case)
    event_key: str = ""  # menu key, or QR scene string (without "qrscene_")
    message_id: str = ""  # MsgId; empty for events
    account: str = ""  # ToUserName: the 公众号's id or the WeCom corp id
    agent_id: str = ""  # WeCom AgentID, when present

    @property
    def sender_id(self) -> str:
        """The conversation id used by dialog state and Rasa trackers."""
        return f"{self.channel}:{self.user_id}"

    @property
    def dedup_key(self) -> str:
        """What makes a callback unique: WeChat resends with the same MsgId, and events
        (which have none) with the same sender, CreateTime and event."""
        if self.message_id:
            return f"{self.channel}:msg:{self.message_id}"
        stamp = int(self.time.timestamp())
        return f"{self.channel}:evt:{self.user_id}:{stamp}:{self.event}:{self.event_key}"


@dataclass(frozen=True)
class TextReply:
    content: str


@dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    image: str = ""


@dataclass(frozen=True)
class NewsReply:
    articles: tuple[Article, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EmptyReply:
    """Answer `success`: WeChat shows nothing and does not retry."""


Reply = TextReply | NewsReply | EmptyReply


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A JSON-able form, for the dedup table and the outbox."""
    if isinstance(reply, TextReply):
        return {"type": "text", "content": reply.content}
    if isinstance(reply, NewsReply):
        return {"type": "news", "articles": [asdict(a) for a in reply.articles]}
    return {"type": "empty"}


def reply_from_dict(data: dict[str, Any]) -> Reply:
    kind = data.get("type")
    if kind == "text":
        return TextReply(str(data["content"]))
    if kind == "news":
        return NewsReply(tuple(Article(**a) for a in data["articles"]))
    return EmptyReply()


def reply_to_json(reply: Reply) -> str:
    return json.dumps(reply_to_dict(reply), ensure_ascii=False)


def reply_from_json(text: str) -> Reply:
    return reply_from_dict(json.loads(text))
