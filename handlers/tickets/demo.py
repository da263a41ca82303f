"""Demo tickets for `make run`: two pieces of feedback and a hand-off from the demo
readers (bot/dev/demo.py), made once."""

from __future__ import annotations

from datetime import timedelta

from bot.core.values import MP, WORK
from handlers.kit.services import Services
from handlers.tickets import store as tickets

TICKETS = (
    (tickets.FEEDBACK, MP, "oDemoReader0001", "四楼文学阅览室晚上有点吵，希望管理员能提醒一下。"),
    (tickets.FEEDBACK, MP, "oDemoReader0002", "希望医学分馆能多买几本《格氏解剖学》第42版。"),
    (tickets.HANDOFF, WORK, "zhangls", "想预约下周三下午的研究室，带研究生讨论课题。"),
)


def seed(services: Services) -> str:
    db, now = services.db(), services.now()
    made = 0
    for kind, channel, user_id, text in TICKETS:
        if db.execute(
            "SELECT 1 FROM tickets WHERE channel = ? AND user_id = ?", [channel, user_id]
        ).fetchone():
            continue  # made by an earlier demo run (and perhaps closed since)
        tickets.create(
            db,
            kind=kind,
            channel=channel,
            user_id=user_id,
            text=text,
            now=now - timedelta(hours=5),
            due_in=timedelta(hours=24),
        )
        made += 1
    return f"{made} ticket(s) added" if made else ""
