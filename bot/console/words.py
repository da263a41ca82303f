"""How the console names things, in one place: every page says the same word for a state."""

from __future__ import annotations

CHANNELS = {"mp": "公众号", "work": "企业微信"}
TICKET_KINDS = {"feedback": "意见反馈", "handoff": "转人工"}
TICKET_STATUSES = {"open": "待处理", "closed": "已关闭"}
OUTBOX_STATUSES = {
    "queued": "待发送",
    "sending": "发送中",
    "sent": "已发出",  # WeChat took it; whether the phone showed it, nobody can tell
    "failed": "发送失败",
    "undeliverable": "无法送达",
}
