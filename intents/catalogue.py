"""The intents the bot knows, and how to name each one to a reader.

The names are fixed (other parts and the training data rely on them); the labels are what
the bot says when it asks "did you mean … or …?" or admits a feature is not there yet.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    "greet": "打个招呼",
    "help": "看看我能做什么",
    "reserve": "预约座位或研讨间",
    "cancel_reservation": "取消预约",
    "my_reservations": "查看我的预约",
    "check_in": "签到",
    "step_out": "暂离（保留座位）",
    "release_seat": "退座（提前结束预约）",
    "search_catalog": "查找图书",
    "suggest_purchase": "荐购图书（你买书我买单）",
    "my_suggestions": "查看我的荐购",
    "list_events": "了解近期活动",
    "register_event": "报名活动",
    "cancel_registration": "取消活动报名",
    "my_registrations": "查看我的报名",
    "therapy_booklist": "阅读疗法书单",
    "counseling": "预约阅读疗法馆员",
    "crisis": "紧急心理援助",
    "subscribe": "订阅图书馆通知",
    "unsubscribe": "退订图书馆通知",
    "opening_hours": "查询开馆时间",
    "feedback": "意见反馈",
    "human": "联系人工馆员",
    "affirm": "确认",
    "deny": "否定",
    "out_of_scope": "其他",
}

INTENTS: frozenset[str] = frozenset(LABELS)

# Never offered as a guess in "did you mean …?": they are answers, not requests.
# crisis is never a guess to confirm: the crisis check acts on it, or it is not one.
NOT_OFFERED: frozenset[str] = frozenset({"affirm", "deny", "out_of_scope", "greet", "crisis"})


def label(intent: str) -> str:
    return LABELS.get(intent, intent)
