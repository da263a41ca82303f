"""企业微信 endpoints (qyapi.weixin.qq.com shapes): token, application messages, menus.

Two platform rules the fake enforces silently, as WeCom does, so tests can see them:
- duplicate check: with `enable_duplicate_check: 1`, the same request JSON within
  `duplicate_check_interval` seconds (default 1800, at most 4 h) is answered ok and not
  delivered again (the call's fault is "duplicate");
- at most 30 messages a minute from one application to one member: the rest are answered
  ok and dropped (the call's `dropped` and `FakeWeChat.dropped()` list them).
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from bot.dev.fake_wechat import menus
from bot.dev.fake_wechat.errors import ApiError
from bot.dev.fake_wechat.state import Ctx

OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "file",
        "textcard",
        "news",
        "mpnews",
        "markdown",
        "miniprogram_notice",
        "template_card",
    }
)
MAX_USERS = 1000
MAX_PARTIES = 100
MAX_TAGS = 100
DUPLICATE_DEFAULT = 1800
DUPLICATE_MAX = 4 * 3600
PER_MEMBER_LIMIT = 30  # messages per member per application per minute
PER_MEMBER_WINDOW = 60.0


def gettoken(ctx: Ctx) -> dict[str, Any]:
    state, query = ctx.state, ctx.query
    corpid, secret = query.get("corpid", ""), query.get("corpsecret", "")
    if corpid:
        ctx.account = f"work:{corpid}"
    if not corpid:
        raise ApiError(41002, "corpid missing")
    if not secret:
        raise ApiError(41004, "corpsecret missing")
    if state.corp_secrets is not None:
        if corpid not in state.corp_secrets:
            raise ApiError(40013, "invalid corpid")
        if secret not in state.corp_secrets[corpid]:
            raise ApiError(40001)
    issued = state.tokens.issue_work(corpid, secret, ctx.now)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "access_token": issued.value,
        "expires_in": int(state.token_ttl),
    }


def _ids(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if not isinstance(value, str | int):
        raise ApiError(40058, "invalid parameter: recipients are a '|'-separated string")
    return list(dict.fromkeys(part.strip() for part in str(value).split("|") if part.strip()))


def _agentid(value: Any) -> str:
    if value is None or value == "":
        raise ApiError(41011)
    try:
        return str(int(value))
    except (TypeError, ValueError):
        raise ApiError(40056) from None


def message_send(ctx: Ctx) -> dict[str, Any]:
    state, body = ctx.state, ctx.body
    agentid = _agentid(body.get("agentid"))
    kind = body.get("msgtype")
    if kind not in MESSAGE_TYPES or not isinstance(body.get(kind), dict):
        raise ApiError(40008)
    if kind in ("text", "markdown") and not body[kind].get("content"):
        raise ApiError(44004)
    users = _ids(body.get("touser"))
    parties, tags = _ids(body.get("toparty")), _ids(body.get("totag"))
    if len(users) > MAX_USERS:
        raise ApiError(40032, "invalid userid list size")
    if len(parties) > MAX_PARTIES:
        raise ApiError(82002)
    if len(tags) > MAX_TAGS:
        raise ApiError(82003)
    check = body.get("enable_duplicate_check") in (1, "1", True)
    interval = body.get("duplicate_check_interval", DUPLICATE_DEFAULT)
    if check and (not isinstance(interval, int) or not 0 < interval <= DUPLICATE_MAX):
        raise ApiError(40058, "invalid parameter: duplicate_check_interval is 1..14400 seconds")

    recipients, invalid = _recipients(ctx, users, parties, tags)
    if not recipients:
        raise ApiError(81013)

    msgid = f"fake-{next(state.ids)}"
    if check:
        # "The same content (the request JSON)": only requests that asked for the check
        # can match, so only they are remembered.
        key = (ctx.account or "", json.dumps(body, sort_keys=True, ensure_ascii=False))
        earlier = state.work_sent.get(key)
        if earlier is not None and ctx.now - earlier[0] < interval:
            ctx.faults.append("duplicate")
            return _answer(invalid, earlier[1])
        state.work_sent[key] = (ctx.now, msgid)
    for to in recipients:
        if to.startswith(("@", "party:", "tag:")) or _within_limit(ctx, agentid, to):
            ctx.deliver(to, kind)
        else:
            ctx.drop(to, kind, "rate_limit")
    if ctx.dropped:
        ctx.faults.append("rate_limited")
    return _answer(invalid, msgid)


def _recipients(
    ctx: Ctx, users: list[str], parties: list[str], tags: list[str]
) -> tuple[list[str], list[str]]:
    """Who gets the message, and the userids WeCom reports as invalid (lower-cased)."""
    directory = ctx.state.wecom_members
    if "@all" in users:
        if directory is None:
            return ["@all"], []
        return list(directory.values()), []
    if directory is None:
        valid = users
        invalid: list[str] = []
    else:
        valid = [directory[u.lower()] for u in users if u.lower() in directory]
        invalid = [u.lower() for u in users if u.lower() not in directory]
    # No departments or WeCom tags are modelled: they are delivered as one pseudo-recipient.
    return valid + [f"party:{p}" for p in parties] + [f"tag:{t}" for t in tags], invalid


def _within_limit(ctx: Ctx, agentid: str, member: str) -> bool:
    key = (ctx.account or "", agentid, member.lower())
    window = ctx.state.work_rate.get(key)
    if window is None:
        window = ctx.state.work_rate[key] = deque()
    while window and ctx.now - window[0] >= PER_MEMBER_WINDOW:
        window.popleft()
    if len(window) >= PER_MEMBER_LIMIT:
        return False
    window.append(ctx.now)
    return True


def _answer(invalid: list[str], msgid: str) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": msgid}


def _menu_agent(ctx: Ctx) -> tuple[str, str]:
    return ctx.account or "", _agentid(ctx.query.get("agentid"))


def menu_create(ctx: Ctx) -> dict[str, Any]:
    key = _menu_agent(ctx)
    ctx.state.menus[key] = menus.validate(ctx.body)
    return OK


def menu_get(ctx: Ctx) -> dict[str, Any]:
    buttons = ctx.state.menus.get(_menu_agent(ctx))
    if buttons is None:
        raise ApiError(46003)
    return {"errcode": 0, "errmsg": "ok", "button": menus.as_menu_get(buttons)}


def menu_delete(ctx: Ctx) -> dict[str, Any]:
    ctx.state.menus.pop(_menu_agent(ctx), None)
    return OK
