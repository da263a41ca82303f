"""The figures a library director asks for: dashboard cards and /api/v1/dashboard/summary.

Both come from `summary()`, computed with the services' clock:
- active readers: readers whose last interaction is within the last 7 / 30 days (to the
  minute, from now);
- messages per day: text messages on each of the last 14 calendar days, today included;
- what readers ask: the most frequent intents of the last 7 calendar days (today included),
  leaving out what was not understood;
- not understood: the share of the last 7 days' messages that ended as out_of_scope (not
  understood) or ambiguous (the bot had to ask which of two things was meant);
- subscribers: readers following us now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint as ApiBlueprint

from bot.console import auth, words
from bot.console.registry import Card, Plugin
from bot.core import users
from bot.core.clock import TZ, isoformat
from bot.core.services import Services
from bot.wechat import stats
from intents.catalogue import label

api = ApiBlueprint("api_dashboard", __name__, description="Figures of the staff dashboard")

ACTIVE_DAYS = (7, 30)
CHART_DAYS = 14
RECENT_DAYS = 7
TOP_INTENTS = 5
ALERT_SHARE = 0.20  # above this share of not-understood messages the card turns red
UNRECOGNISED_PAGE = "/console/unrecognised/"


# -- service functions shared by cards and API ---------------------------------------------------


def intent_label(intent: str) -> str:
    return stats.LABELS.get(intent) or label(intent)


def summary(services: Services) -> dict[str, Any]:
    db, now = services.db(), services.now()
    today = now.astimezone(TZ).date()
    recent_first = today - timedelta(days=RECENT_DAYS - 1)
    per_day = stats.per_day(db, today - timedelta(days=CHART_DAYS - 1), today)
    per_intent = stats.per_intent(db, recent_first, today)
    recent_total = sum(count for _, count in per_intent)
    counts = dict(per_intent)
    missed = {reason: counts.get(reason, 0) for reason in stats.NOT_UNDERSTOOD}
    share = sum(missed.values()) / recent_total if recent_total else None
    asked = [(intent, n) for intent, n in per_intent if intent not in stats.NOT_REQUESTS]
    by_channel = users.subscribers(db)
    return {
        "as_of": isoformat(now),
        "active_readers": {
            f"days_{days}": users.active_since(db, now - timedelta(days=days))
            for days in ACTIVE_DAYS
        },
        "messages_per_day": [{"day": day, "count": count} for day, count in per_day.items()],
        "top_intents": [
            {"intent": intent, "label": intent_label(intent), "count": count}
            for intent, count in asked[:TOP_INTENTS]
        ],
        "not_understood": {
            "days": RECENT_DAYS,
            "messages": recent_total,
            **missed,
            "share": None if share is None else round(share, 4),
            "alert": share is not None and share > ALERT_SHARE,
        },
        "subscribers": {"total": sum(by_channel.values()), "by_channel": by_channel},
    }


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%".replace(".0%", "%")


def cards(services: Services) -> list[Card]:
    figures = summary(services)
    active = figures["active_readers"]
    days = figures["messages_per_day"]
    total = sum(d["count"] for d in days)
    first, last = days[0]["day"], days[-1]["day"]
    top = figures["top_intents"]
    missed = figures["not_understood"]
    subscribers = figures["subscribers"]
    channels = " · ".join(
        f"{words.CHANNELS.get(channel, channel)} {count}"
        for channel, count in subscribers["by_channel"].items()
    )
    return [
        Card(
            "活跃读者（近 7 天）",
            str(active["days_7"]),
            note=f"近 30 天 {active['days_30']} 人",
            href="/console/readers/",
        ),
        Card(
            f"每日消息（近 {CHART_DAYS} 天）",
            str(total),
            note=(
                f"{first[5:]} 至 {last[5:]} 共 {total} 条，日均 {total / len(days):.1f} 条；"
                f"今天 {days[-1]['count']} 条"
            ),
            series=[(str(int(d["day"][8:])), d["count"]) for d in days],
        ),
        Card(
            f"读者在问什么（近 {RECENT_DAYS} 天）",
            top[0]["label"] if top else "—",
            note="；".join(f"{t['label']} {t['count']}" for t in top) or "还没有消息",
        ),
        Card(
            f"没听懂的比例（近 {RECENT_DAYS} 天）",
            "—" if missed["share"] is None else _percent(missed["share"]),
            note=(
                f"{missed['messages']} 条消息中没听懂 {missed['out_of_scope']} 条、"
                f"需要追问 {missed['ambiguous']} 条"
                + (f"；超过 {ALERT_SHARE:.0%}，请看看读者在问什么" if missed["alert"] else "")
            ),
            href=UNRECOGNISED_PAGE,
            alert=missed["alert"],
        ),
        Card(
            "关注的读者",
            str(subscribers["total"]),
            note=channels or "还没有读者",
        ),
    ]


# -- API -------------------------------------------------------------------------------------


class DashboardDayCount(ma.Schema):
    day = ma.fields.String(metadata={"description": "YYYY-MM-DD, Asia/Shanghai"})
    count = ma.fields.Integer()


class DashboardIntentCount(ma.Schema):
    intent = ma.fields.String()
    label = ma.fields.String(metadata={"description": "the intent's Chinese name"})
    count = ma.fields.Integer()


class DashboardActiveReaders(ma.Schema):
    days_7 = ma.fields.Integer()
    days_30 = ma.fields.Integer()


class DashboardNotUnderstood(ma.Schema):
    days = ma.fields.Integer()
    messages = ma.fields.Integer(metadata={"description": "all text messages in those days"})
    out_of_scope = ma.fields.Integer(metadata={"description": "not understood"})
    ambiguous = ma.fields.Integer(metadata={"description": "the bot asked which was meant"})
    share = ma.fields.Float(allow_none=True, metadata={"description": "null without messages"})
    alert = ma.fields.Boolean(metadata={"description": "share above 20 %"})


class DashboardSubscribers(ma.Schema):
    total = ma.fields.Integer()
    by_channel = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class DashboardSummarySchema(ma.Schema):
    as_of = ma.fields.String()
    active_readers = ma.fields.Nested(DashboardActiveReaders)
    messages_per_day = ma.fields.List(ma.fields.Nested(DashboardDayCount))
    top_intents = ma.fields.List(ma.fields.Nested(DashboardIntentCount))
    not_understood = ma.fields.Nested(DashboardNotUnderstood)
    subscribers = ma.fields.Nested(DashboardSubscribers)


@api.get("/summary")
@auth.api_access()
@api.response(200, DashboardSummarySchema)
def api_summary() -> dict[str, Any]:
    """The dashboard's figures: active readers, messages per day, top intents, the share
    not understood, subscribers."""
    return summary(auth.runtime().services)


PLUGIN = Plugin(name="dashboard", api=api, cards=(cards,))
