"""Tencent's error codes as the fake answers them, and the one exception handlers raise.

Texts follow what the platforms send (English `errmsg`), checked against public copies of
the 公众号 global return-code table, WeCom's global error codes and SDKs that quote real
answers. Clients must branch on `errcode`, never on `errmsg` (WeCom says so in its docs).
"""

from __future__ import annotations

from typing import Any

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40022: "invalid sub menu level",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
    40037: "invalid template_id",
    40053: "invalid action info, please check document",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40125: "invalid appsecret",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41011: "missing agentid",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    44002: "empty post data",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45056: "too many tags",
    45058: "can't modify sys tag",
    45059: "user has too many tags",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    48001: "api unauthorized",
    81013: "user & party & tag all invalid",
    82002: "invalid partyid list size",
    82003: "invalid tagid list size",
}


def errmsg(code: int) -> str:
    return ERRMSG.get(code, "error")


class ApiError(Exception):
    """An answer `{"errcode": code, "errmsg": ...}` (HTTP 200), with optional extra fields."""

    def __init__(self, code: int, message: str | None = None, **extra: Any) -> None:
        self.code = code
        self.message = message or errmsg(code)
        self.extra = extra
        super().__init__(f"{code}: {self.message}")

    def answer(self) -> dict[str, Any]:
        return {"errcode": self.code, "errmsg": self.message, **self.extra}
