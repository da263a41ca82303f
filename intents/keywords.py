"""Interim keyword rules, until the intent layer's classifier replaces them.

Deliberately small: they route the first handlers (greeting, help, opening hours, feedback,
hand-off) so the message path can be proved end to end. Order matters: the first rule whose
pattern matches wins, so more specific rules come first.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from intents.result import ParseResult

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("human", re.compile(r"转人工|人工客服|人工服务|找馆员|联系馆员|真人")),
    ("feedback", re.compile(r"反馈|投诉|建议|意见|吐槽")),
    (
        "opening_hours",
        re.compile(r"开馆|闭馆|开门|关门|几点|开放时间|营业|开放吗|开着吗|开吗|时间表"),
    ),
    ("help", re.compile(r"^(帮助|菜单|help|\?|？)$|能做什么|有什么功能|怎么用|会什么", re.I)),
    ("greet", re.compile(r"^(你好|您好|hi|hello|嗨|哈喽|在吗|早上好|晚上好)", re.I)),
)

RELATIVE_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
DATE_PATTERN = re.compile(r"大后天|后天|明天|明日|今天|今日|(?:周|星期|礼拜)([一二三四五六日天])")


def parse(text: str, now: datetime) -> ParseResult:
    cleaned = text.strip()
    entities = tuple(_dates(cleaned, now.date()))
    for intent, pattern in RULES:
        if pattern.search(cleaned):
            return ParseResult(cleaned, intent, 1.0, entities)
    return ParseResult(cleaned, "out_of_scope", 0.0, entities)


def _dates(text: str, today: date) -> list[dict[str, object]]:
    found = []
    for match in DATE_PATTERN.finditer(text):
        word = match.group(0)
        if word in RELATIVE_DAYS:
            day = today + timedelta(days=RELATIVE_DAYS[word])
        else:
            # A bare weekday means the next one to come (today counts).
            ahead = (WEEKDAYS[match.group(1)] - today.weekday()) % 7
            day = today + timedelta(days=ahead)
        found.append(
            {"entity": "date", "value": day.isoformat(), "start": match.start(), "end": match.end()}
        )
    return found
