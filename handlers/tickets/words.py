"""How the console names a ticket's kind and status: every page says the same word."""

from __future__ import annotations

TICKET_KINDS = {"feedback": "意见反馈", "handoff": "转人工"}
TICKET_STATUSES = {"open": "待处理", "closed": "已关闭"}
