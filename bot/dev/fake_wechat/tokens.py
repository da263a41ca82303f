"""Access tokens as the two platforms issue them.

公众号: every fetch for an appid issues a new token and the previous one stops working (after
`grace` seconds; Tencent's docs promise a 5-minute overlap, the fake defaults to none so a
client that fetches per process is caught at once). WeCom: a fetch while the token for that
corpid + secret is still good returns the same token, with the same `expires_in`.
Both expire `ttl` seconds after issue by the injected clock.
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from dataclasses import dataclass

from bot.dev.fake_wechat.errors import ApiError

MP = "mp"
WORK = "work"


@dataclass(slots=True)
class Token:
    value: str
    channel: str  # MP or WORK
    account: str  # "mp:<appid>" / "work:<corpid>"
    key: str  # the appid or corpid
    expires_at: float
    state: str = "ok"  # ok | replaced | expired | invalid
    replaced_at: float = 0.0


class Tokens:
    def __init__(self, ttl: float, grace: float = 0.0) -> None:
        self.ttl = ttl
        self.grace = grace
        self.by_value: dict[str, Token] = {}
        self.current: dict[tuple[str, ...], Token] = {}
        self.fetches: Counter[str] = Counter()
        self._serial = itertools.count(1)

    def _new(self, channel: str, key: str, now: float) -> Token:
        value = f"FAKE_{channel.upper()}_{next(self._serial):06d}_{secrets.token_hex(12)}"
        token = Token(value, channel, f"{channel}:{key}", key, now + self.ttl)
        self.by_value[value] = token
        return token

    def issue_mp(self, appid: str, now: float) -> Token:
        old = self.current.get((MP, appid))
        if old is not None and old.state == "ok":
            old.state = "replaced"
            old.replaced_at = now
        token = self._new(MP, appid, now)
        self.current[(MP, appid)] = token
        self.fetches[token.account] += 1
        return token

    def issue_work(self, corpid: str, secret: str, now: float) -> Token:
        current = self.current.get((WORK, corpid, secret))
        if current is None or current.state != "ok" or now >= current.expires_at:
            current = self._new(WORK, corpid, now)
            self.current[(WORK, corpid, secret)] = current
        self.fetches[current.account] += 1
        return current

    def check(self, value: str | None, now: float) -> Token:
        """The token behind `value`, or the errcode Tencent answers for it."""
        if not value:
            raise ApiError(41001)
        token = self.by_value.get(value)
        if token is None or token.state == "invalid":
            raise ApiError(40001)
        if token.state == "replaced" and now - token.replaced_at >= self.grace:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
        if token.state == "expired" or now >= token.expires_at:
            raise ApiError(42001)
        return token

    def expire_all(self) -> None:
        for token in self.by_value.values():
            token.state = "expired"

    def invalidate_all(self) -> None:
        for token in self.by_value.values():
            token.state = "invalid"
