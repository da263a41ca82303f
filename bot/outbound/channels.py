"""How an outbox row becomes a WeChat API call, per channel.

Payloads are the reply shapes of bot.core.values (`{"type": "text", "content": …}`,
`{"type": "news", "articles": […]}`), plus, for notices that may go out as template
messages, `"fields"` (named values) and an optional `"url"`.

公众号: a reader who wrote to us within 48 hours gets a customer-service message (free,
any text); otherwise, if config/library.toml names a template for the row's kind, a
template message, its keywords filled from `fields` by the mapping in the config; otherwise
the row is undeliverable (45015) without a call — WeChat would refuse it anyway.

WeCom: one `message/send` carries up to 1000 members when they get the same message, with
`enable_duplicate_check`, so that resending the very same request after a crash is dropped
by WeCom instead of reaching a member twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.outbound.api import API, WeChatError

WINDOW = timedelta(hours=48)
WINDOW_MARGIN = timedelta(minutes=10)  # our clock and WeChat's may differ a little
WECOM_BATCH = 1000
DUPLICATE_CHECK_SECONDS = 1800


@dataclass(frozen=True)
class Template:
    """A template message for one kind of notice: its id and keyword → payload field."""

    template_id: str
    keywords: Mapping[str, str]
    url: str = ""


def templates_from_config(library: Mapping[str, Any]) -> dict[str, Template]:
    """[templates.<kind>] template_id = "…", url = "…", keywords = {keyword = "field"}. A
    dotted kind is a nested table: [templates.booking.reminder] is the kind booking.reminder."""
    return _templates(library.get("templates") or {}, "")


def _templates(tables: Mapping[str, Any], prefix: str) -> dict[str, Template]:
    found = {}
    for name, entry in tables.items():
        if not isinstance(entry, Mapping):
            continue
        if entry.get("template_id"):
            found[prefix + name] = Template(
                str(entry["template_id"]),
                {str(k): str(v) for k, v in (entry.get("keywords") or {}).items()},
                str(entry.get("url") or ""),
            )
        else:
            found.update(_templates(entry, f"{prefix}{name}."))
    return found


def text_of(payload: Mapping[str, Any]) -> str:
    """A plain-text rendering of any payload (WeCom text, template fallbacks, logs)."""
    if payload.get("type") == "news":
        parts = []
        for article in payload.get("articles") or []:
            line = article.get("title", "")
            if article.get("url"):
                line += f"\n{article['url']}"
            parts.append(line)
        return "\n\n".join(parts)
    return str(payload.get("content") or "")


class MPChannel:
    def __init__(self, api: API, templates: Mapping[str, Template]) -> None:
        self.api = api
        self.templates = templates

    def deliver(
        self,
        recipient: str,
        kind: str,
        payload: Mapping[str, Any],
        last_interaction: datetime | None,
        now: datetime,
    ) -> str:
        """Send one message; returns how ("custom" or "template"). Raises WeChatError."""
        if last_interaction is not None and now - last_interaction < WINDOW - WINDOW_MARGIN:
            self.api.post("/cgi-bin/message/custom/send", self._custom(recipient, payload))
            return "custom"
        template = self.templates.get(kind)
        if template is None:
            raise WeChatError(
                45015, f"outside the 48-hour window and no template for {kind!r}", False
            )
        self.api.post("/cgi-bin/message/template/send", _template(recipient, template, payload))
        return "template"

    def _custom(self, recipient: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        if payload.get("type") == "news" and payload.get("articles"):
            # Customer-service news carries one article (WeChat's rule since 2018).
            first = payload["articles"][0]
            article = {
                "title": first.get("title", ""),
                "description": first.get("description", ""),
                "url": first.get("url", ""),
                "picurl": first.get("picurl") or first.get("image", ""),
            }
            return {"touser": recipient, "msgtype": "news", "news": {"articles": [article]}}
        return {"touser": recipient, "msgtype": "text", "text": {"content": text_of(payload)}}


def _template(recipient: str, template: Template, payload: Mapping[str, Any]) -> dict[str, Any]:
    fields = payload.get("fields") or {}
    data = {
        keyword: {"value": str(fields.get(field, ""))[:20]}  # WeChat cuts keywords at 20
        for keyword, field in template.keywords.items()
    }
    body: dict[str, Any] = {"touser": recipient, "template_id": template.template_id, "data": data}
    url = payload.get("url") or template.url
    if url:
        body["url"] = url
    return body


class WorkChannel:
    def __init__(self, api: API, agent_id: str) -> None:
        self.api = api
        self.agent_id = agent_id

    def request(self, recipients: Sequence[str], payload: Mapping[str, Any]) -> dict[str, Any]:
        """The message/send body for these members (kept, so a resend is byte-for-byte)."""
        if len(recipients) > WECOM_BATCH:
            raise ValueError(f"at most {WECOM_BATCH} members per message")
        body: dict[str, Any] = {
            "touser": "|".join(recipients),
            "agentid": int(self.agent_id) if self.agent_id.isdigit() else self.agent_id,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
        }
        if payload.get("type") == "news" and payload.get("articles"):
            body["msgtype"] = "news"
            body["news"] = {
                "articles": [
                    {
                        "title": a.get("title", ""),
                        "description": a.get("description", ""),
                        "url": a.get("url", ""),
                        "picurl": a.get("picurl") or a.get("image", ""),
                    }
                    for a in payload["articles"][:8]
                ]
            }
        else:
            body["msgtype"] = "text"
            body["text"] = {"content": text_of(payload)}
        return body

    def send(self, body: dict[str, Any]) -> set[str]:
        """Send a prepared request; returns the members WeCom called invalid."""
        answer = self.api.post("/cgi-bin/message/send", body)
        invalid = str(answer.get("invaliduser") or "")
        return {member for member in invalid.split("|") if member}
