"""Outbound calls to WeChat's and WeCom's HTTP APIs: our own thin client.

Why not wechatpy's client: its token fetch ignores an overridden API_BASE_URL (the host is
hard-coded), and `auto_retry` refreshes the token without bound on 40001 — with several
processes each refresh knocks out the others' token. Here every URL, the token fetch
included, starts from the configured base; every call has a timeout; a token error gets
exactly one refresh (of that very token, so a token another process just fetched is not
replaced) and one retry, then the error surfaces. Errors are classified once, here:
passing (retry later), the reader cannot be reached (undeliverable), or anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from bot.outbound.tokens import TokenStore

# Worth another try later: system busy, quota and minute limits.
TRANSIENT_CODES = frozenset({-1, 45009, 45011})
# The token is bad or old: one refresh, one retry.
TOKEN_CODES = frozenset({40001, 40014, 42001})
# This reader cannot get this message: outside the 48-hour window, reply quota used,
# not following, no valid WeCom recipient, an openid of another account.
UNDELIVERABLE_CODES = frozenset({43004, 45015, 45047, 81013, 40003})

KNOWN_MESSAGES = {
    -1: "system busy",
    40001: "invalid credential (access token)",
    40003: "invalid openid",
    40014: "invalid access token",
    42001: "access token expired",
    43004: "reader does not follow the account",
    45009: "daily API quota reached",
    45011: "API minute quota reached",
    45015: "outside the 48-hour window",
    45047: "customer-service reply quota used up",
    81013: "no valid WeCom recipient",
}


class WeChatError(Exception):
    """A call that did not succeed. `code` is WeChat's errcode (None for network/HTTP)."""

    def __init__(self, code: int | None, message: str, transient: bool) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message
        self.transient = transient

    @property
    def undeliverable(self) -> bool:
        return self.code in UNDELIVERABLE_CODES

    @property
    def token_problem(self) -> bool:
        return self.code in TOKEN_CODES


def error_from(body: dict[str, Any]) -> WeChatError | None:
    """The error in a JSON answer, or None when errcode is 0 or absent."""
    code = body.get("errcode", 0)
    if not isinstance(code, int) or code == 0:
        return None
    message = str(body.get("errmsg") or KNOWN_MESSAGES.get(code, "error"))
    # A token error left after its one refresh is passing too: another process may have
    # been replacing the token at that moment; the next attempt (with backoff) will tell.
    return WeChatError(code, message, transient=code in TRANSIENT_CODES | TOKEN_CODES)


@dataclass
class HTTP:
    """requests with a timeout on every call and WeChat's answers turned into errors."""

    timeout: float
    session: requests.Session

    def get(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._send("GET", url, params, None)

    def post(self, url: str, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return self._send("POST", url, params, body)

    def _send(
        self, method: str, url: str, params: dict[str, Any], body: dict[str, Any] | None
    ) -> dict[str, Any]:
        # ensure_ascii=False: WeChat shows \u escapes literally in some message kinds.
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data else {}
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            # The class only: requests' messages carry the URL, and with it the token.
            raise WeChatError(None, f"network: {type(error).__name__}", transient=True) from None
        if response.status_code >= 500:
            raise WeChatError(None, f"HTTP {response.status_code}", transient=True)
        if response.status_code != 200:
            raise WeChatError(None, f"HTTP {response.status_code}", transient=False)
        try:
            answer = response.json()
        except ValueError:
            raise WeChatError(None, "answer is not JSON", transient=True) from None
        if not isinstance(answer, dict):
            raise WeChatError(None, "answer is not a JSON object", transient=True)
        error = error_from(answer)
        if error is not None:
            raise error
        return answer


@dataclass
class API:
    """One account's API: `post(path, body)` with its access token and one bounded refresh."""

    base: str
    account: str
    tokens: TokenStore
    http: HTTP

    def post(
        self, path: str, body: dict[str, Any], params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._with_token(
            lambda token: self.http.post(self._url(path), _p(token, params), body)
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._with_token(lambda token: self.http.get(self._url(path), _p(token, params)))

    def _with_token(self, call: Any) -> dict[str, Any]:
        token = self.tokens.token(self.account)
        try:
            return call(token)
        except WeChatError as error:
            if not error.token_problem:
                raise
        # Exactly one refresh, of the token that failed, then the error is the caller's.
        return call(self.tokens.token(self.account, stale=token))

    def _url(self, path: str) -> str:
        return self.base.rstrip("/") + path


def _p(token: str, params: dict[str, Any] | None) -> dict[str, Any]:
    return {"access_token": token, **(params or {})}
