"""Rules where intents share characters and a character model alone would guess.

取消预约 / 取消订阅 / 取消报名 differ by two characters out of four; 推荐几本书 (recommend me
books) and 推荐买书 (please buy this book) by one. These patterns are precise on purpose:
they decide only when the words leave no doubt, and everything else goes to the classifier.
First match wins, so the more specific patterns come first.
"""

from __future__ import annotations

import re

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "unsubscribe",
        re.compile(
            r"取消(订阅|关注推送|推送)|退订|(不想|不要|别)再?(收到?|推送?|发)(推送|周报|消息|通知)|关闭(推送|通知|周报)"
        ),
    ),
    (
        "cancel_registration",
        re.compile(
            r"(取消|撤销|退掉?)(活动|讲座|培训|比赛|读书会)?的?报名|报名.{0,6}(取消|撤销|不去了)"
        ),
    ),
    (
        "cancel_reservation",
        re.compile(r"(取消|撤销|退掉)(我的)?(预约|预定|预订|订座|座位|讨论室|研讨室|研究室|影院)"),
    ),
    ("my_suggestions", re.compile(r"我的荐购|我荐购的|荐购(的书)?(进度|到了吗|怎么样了|处理)")),
    ("my_registrations", re.compile(r"我的报名|我报(名)?了(哪些|什么|几个)")),
    ("my_reservations", re.compile(r"我的(预约|预定|预订)|我(预约|约|订)了(哪些|什么|几个)")),
    (
        "suggest_purchase",
        re.compile(
            r"荐购|你买书我买单|(推荐|建议|希望|麻烦|请|能不能|可不可以)(图书馆|馆里|你们)?(买|采购|购买|购进|进)(一?本|几本|这本|一下|点)?"
        ),
    ),
)


def match(text: str) -> str | None:
    """The intent a rule is sure of, given normalised text, or None."""
    for intent, pattern in RULES:
        if pattern.search(text):
            return intent
    return None
