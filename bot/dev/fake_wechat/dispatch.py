"""From a request to an answer: injected faults first, then the route, the token, the body.

The order follows Tencent's: an unknown path is a 404, a wrong method 43001/43002, then
the access token (41001 / 40001 / 42001), then the body (44002 empty, 47001 malformed),
then the endpoint's own checks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dev.fake_wechat import mp, work
from bot.dev.fake_wechat.errors import ApiError
from bot.dev.fake_wechat.records import Call, Fault
from bot.dev.fake_wechat.state import Ctx, State
from bot.dev.fake_wechat.tokens import MP, WORK

Handler = Callable[[Ctx], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    handlers: dict[str, Handler]  # by token channel; "" for the token endpoints
    auth: bool = True


def _mp(method: str, handler: Handler) -> Route:
    return Route(method, {MP: handler})


ROUTES: dict[str, Route] = {
    "/cgi-bin/token": Route("GET", {"": mp.token}, auth=False),
    "/cgi-bin/gettoken": Route("GET", {"": work.gettoken}, auth=False),
    "/cgi-bin/message/custom/send": _mp("POST", mp.custom_send),
    "/cgi-bin/message/template/send": _mp("POST", mp.template_send),
    "/cgi-bin/message/mass/sendall": _mp("POST", mp.mass_sendall),
    "/cgi-bin/message/mass/send": _mp("POST", mp.mass_send),
    "/cgi-bin/tags/create": _mp("POST", mp.tags_create),
    "/cgi-bin/tags/get": _mp("GET", mp.tags_get),
    "/cgi-bin/tags/update": _mp("POST", mp.tags_update),
    "/cgi-bin/tags/delete": _mp("POST", mp.tags_delete),
    "/cgi-bin/tags/members/batchtagging": _mp("POST", mp.tags_batchtagging),
    "/cgi-bin/tags/members/batchuntagging": _mp("POST", mp.tags_batchuntagging),
    "/cgi-bin/user/tag/get": _mp("POST", mp.user_tag_get),
    "/cgi-bin/tags/getidlist": _mp("POST", mp.tags_getidlist),
    "/cgi-bin/get_current_selfmenu_info": _mp("GET", mp.selfmenu_info),
    "/cgi-bin/qrcode/create": _mp("POST", mp.qrcode_create),
    "/cgi-bin/menu/create": Route("POST", {MP: mp.menu_create, WORK: work.menu_create}),
    "/cgi-bin/menu/get": Route("GET", {MP: mp.menu_get, WORK: work.menu_get}),
    "/cgi-bin/menu/delete": Route("GET", {MP: mp.menu_delete, WORK: work.menu_delete}),
    "/cgi-bin/message/send": Route("POST", {WORK: work.message_send}),
}


@dataclass(frozen=True)
class Outcome:
    """What the HTTP layer writes: JSON, an injected HTTP status, or nothing at all."""

    status: int | None  # None: drop the connection
    json: dict[str, Any] | None = None
    text: str = ""


def parse(raw: bytes) -> tuple[Any, bool]:
    """(parsed JSON object or None, whether the body is malformed)."""
    if not raw.strip():
        return None, False
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, True
    return value, not isinstance(value, dict)


def serve(state: State, method: str, path: str, query: dict[str, str], raw: bytes) -> Outcome:
    body, malformed = parse(raw)
    with state.lock:
        fault = state.take_fault(path, query, body)
    if fault is not None and fault.delay > 0:
        time.sleep(fault.delay)  # outside the lock: other calls go on meanwhile
    with state.lock:
        now = state.now()
        seq = next(state.call_seq)
        if fault is not None and (fault.drop or fault.status or fault.errcode is not None):
            return _faulted(state, fault, seq, now, method, path, query, body)
        ctx = Ctx(state, path, query, body, raw, now, seq)
        if fault is not None:
            ctx.faults.append(fault.label)
        status, answer = _route(ctx, method, malformed)
        state.calls.append(
            Call(
                seq,
                now,
                method,
                path,
                query,
                body,
                status,
                answer,
                ctx.account,
                "+".join(ctx.faults) or None,
                tuple(ctx.dropped),
            )
        )
        return Outcome(status, answer)


def _route(ctx: Ctx, method: str, malformed: bool) -> tuple[int, dict[str, Any]]:
    route = ROUTES.get(ctx.path)
    if route is None:
        ctx.account = _account(ctx.state, ctx.query)
        return 404, {"errcode": 404, "errmsg": f"fake wechat: no API at {ctx.path}"}
    try:
        if method != route.method:
            raise ApiError(43001 if route.method == "GET" else 43002)
        if route.auth:
            ctx.token = ctx.state.tokens.check(ctx.query.get("access_token"), ctx.now)
            ctx.account = ctx.token.account
            handler = route.handlers.get(ctx.token.channel)
            if handler is None:
                raise ApiError(40001, "invalid credential, access_token is not for this api")
        else:
            handler = route.handlers[""]
        if method == "POST":
            if not ctx.raw.strip():
                raise ApiError(44002)
            if malformed:
                raise ApiError(47001)
        return 200, handler(ctx)
    except ApiError as error:
        return 200, error.answer()


def _account(state: State, query: dict[str, str]) -> str | None:
    """The account a request names, without judging whether its token still works."""
    token = state.tokens.by_value.get(query.get("access_token", ""))
    if token is not None:
        return token.account
    if query.get("appid"):
        return f"mp:{query['appid']}"
    if query.get("corpid"):
        return f"work:{query['corpid']}"
    return None


def _faulted(
    state: State,
    fault: Fault,
    seq: int,
    now: float,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
) -> Outcome:
    if fault.drop:
        outcome = Outcome(None)
    elif fault.status is not None:
        outcome = Outcome(fault.status, text=f"fake wechat: injected HTTP {fault.status}\n")
    else:
        answer = ApiError(fault.errcode, fault.errmsg).answer()
        outcome = Outcome(200, answer)
    state.calls.append(
        Call(
            seq,
            now,
            method,
            path,
            query,
            body,
            outcome.status,
            outcome.json,
            _account(state, query),
            fault.label,
        )
    )
    return outcome
