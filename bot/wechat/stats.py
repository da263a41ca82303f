"""How many text messages readers sent, per day, channel and the intent each ended up as.

The router counts every text (and voice) message once, with one upsert, under the intent it
was finally answered as: the action that ran (a form's intent while a form is open), the
command (help, cancel, human, crisis), "ambiguous" when the bot asked which of two things
was meant, "out_of_scope" when it did not understand, "banned" when a banned reader was
told so. The staff dashboard reads the figures through the functions below.

Days are the library's calendar days (Asia/Shanghai).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import TZ

AMBIGUOUS = "ambiguous"
OUT_OF_SCOPE = "out_of_scope"
NOT_UNDERSTOOD = (OUT_OF_SCOPE, AMBIGUOUS)
CANCEL = "cancel"
BANNED = "banned"
ERROR = "error"  # the message failed before the router knew what it was
# What the dashboard calls the outcomes that are not intents of intents.catalogue.
LABELS = {
    AMBIGUOUS: "需要追问（没把握）",
    CANCEL: "取消当前操作",
    BANNED: "已停用读者的消息",
    ERROR: "处理出错",
}
# Outcomes that are not requests: left out of "what readers ask".
NOT_REQUESTS = frozenset({*NOT_UNDERSTOOD, BANNED, ERROR})

migrations = Migrations("stats")


@migrations()
def create_message_stats(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE message_stats (
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            intent TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, channel, intent)
        ) WITHOUT ROWID
        """
    )


def day_of(moment: datetime) -> str:
    return moment.astimezone(TZ).date().isoformat()


def record(db: Database, channel: str, intent: str, now: datetime) -> None:
    """Count one message; a single statement, so concurrent workers never lose a count."""
    db.execute(
        """
        INSERT INTO message_stats (day, channel, intent, count) VALUES (?, ?, ?, 1)
        ON CONFLICT (day, channel, intent) DO UPDATE SET count = count + 1
        """,
        [day_of(now), channel, intent],
    )


def per_day(db: Database, first: date, last: date) -> dict[str, int]:
    """Messages per day from `first` to `last` (inclusive), days without any included as 0."""
    cursor = db.execute(
        "SELECT day, sum(count) FROM message_stats WHERE day BETWEEN ? AND ? GROUP BY day",
        [first.isoformat(), last.isoformat()],
    )
    found = {str(day): int(count) for day, count in cursor.fetchall()}
    days = [date.fromordinal(n).isoformat() for n in range(first.toordinal(), last.toordinal() + 1)]
    return {day: found.get(day, 0) for day in days}


def per_intent(db: Database, first: date, last: date) -> list[tuple[str, int]]:
    """(intent, messages) from `first` to `last` (inclusive), the most frequent first."""
    cursor = db.execute(
        "SELECT intent, sum(count) AS n FROM message_stats WHERE day BETWEEN ? AND ? "
        "GROUP BY intent ORDER BY n DESC, intent",
        [first.isoformat(), last.isoformat()],
    )
    return [(str(intent), int(count)) for intent, count in cursor.fetchall()]
