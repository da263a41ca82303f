"""公众号 endpoints (api.weixin.qq.com shapes): token, customer-service, template and mass
messages, user tags, custom menu, parametric QR codes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from bot.dev.fake_wechat import menus
from bot.dev.fake_wechat.errors import ApiError
from bot.dev.fake_wechat.state import SYSTEM_TAGS, Ctx

OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
CUSTOM_TYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "mpnewsarticle",
        "msgmenu",
        "wxcard",
        "miniprogrampage",
    }
)
MASS_TYPES = frozenset({"mpnews", "text", "voice", "image", "mpvideo", "wxcard"})
MASS_WINDOW = 24 * 3600  # clientmsgid is checked against the last 24 hours
MASS_MAX = 10_000
TAG_PAGE = 10_000
TAGS_MAX = 100
TAGS_PER_USER = 20
TAGGING_MAX = 50
ESCAPED = re.compile(rb"\\u[0-9a-fA-F]{4}")
QR_TEMPORARY = frozenset({"QR_SCENE", "QR_STR_SCENE"})
QR_PERMANENT = frozenset({"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"})
QR_DEFAULT_SECONDS = 60  # a temporary code without expire_seconds
QR_MAX_SECONDS = 30 * 24 * 3600
QR_MAX_SCENE_ID = 100_000  # permanent numeric scenes are 1..100000
QR_MAX_SCENE_STR = 64  # bytes


def token(ctx: Ctx) -> dict[str, Any]:
    state, query = ctx.state, ctx.query
    appid, secret = query.get("appid", ""), query.get("secret", "")
    if appid:
        ctx.account = f"mp:{appid}"
    if query.get("grant_type") != "client_credential":
        raise ApiError(40002)
    if not appid:
        raise ApiError(41002)
    if not secret:
        raise ApiError(41004)
    if state.secrets is not None:
        if appid not in state.secrets:
            raise ApiError(40013)
        if state.secrets[appid] != secret:
            raise ApiError(40125)
    issued = state.tokens.issue_mp(appid, ctx.now)
    return {"access_token": issued.value, "expires_in": int(state.token_ttl)}


def _content(ctx: Ctx, allowed: frozenset[str]) -> str:
    kind = ctx.body.get("msgtype")
    if kind not in allowed or not isinstance(ctx.body.get(kind), dict):
        raise ApiError(40008)
    if kind == "text" and not ctx.body["text"].get("content"):
        raise ApiError(44004)
    return str(kind)


def _openid(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(40003)
    return value


def custom_send(ctx: Ctx) -> dict[str, Any]:
    to = _openid(ctx.body.get("touser"))
    kind = _content(ctx, CUSTOM_TYPES)
    if to in ctx.state.unfollowed:
        raise ApiError(43004)
    if to in ctx.state.outside_window:
        raise ApiError(45015)
    ctx.deliver(to, kind)
    return OK


def template_send(ctx: Ctx) -> dict[str, Any]:
    to = _openid(ctx.body.get("touser"))
    if not ctx.body.get("template_id"):
        raise ApiError(40037)
    if not isinstance(ctx.body.get("data", {}), dict):
        raise ApiError(47001)
    if to in ctx.state.unfollowed:
        raise ApiError(43004)
    ctx.deliver(to, "template")
    return {"errcode": 0, "errmsg": "ok", "msgid": next(ctx.state.ids)}


def _mass(ctx: Ctx, recipients: list[str], scope: Any) -> dict[str, Any]:
    kind = _content(ctx, MASS_TYPES)
    state, account = ctx.state, ctx.account or ""
    clientmsgid = ctx.body.get("clientmsgid")
    if clientmsgid is None:
        # Tencent: without a clientmsgid, the digest of scope + content stands in for one.
        digest = json.dumps([scope, kind, ctx.body[kind]], sort_keys=True, ensure_ascii=False)
        clientmsgid = "digest:" + hashlib.sha1(digest.encode()).hexdigest()
    elif not isinstance(clientmsgid, str) or len(clientmsgid.encode()) > 64:
        raise ApiError(45067)
    seen = state.mass_ids.setdefault(account, {})
    earlier = seen.get(clientmsgid)
    if earlier is not None and ctx.now - earlier[0] < MASS_WINDOW:
        raise ApiError(45065, msg_id=earlier[1])
    msg_id = next(state.ids)
    seen[clientmsgid] = (ctx.now, msg_id)
    for openid in recipients:
        if openid in state.unfollowed:
            ctx.drop(openid, kind, "unfollowed")
        else:
            ctx.deliver(openid, kind)
    answer: dict[str, Any] = {
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": msg_id,
    }
    if kind == "mpnews":  # Tencent returns msg_data_id for articles only
        answer["msg_data_id"] = next(state.ids)
    return answer


def mass_sendall(ctx: Ctx) -> dict[str, Any]:
    selector = ctx.body.get("filter")
    if not isinstance(selector, dict):
        raise ApiError(47001)
    book = ctx.state.tag_book(ctx.account or "")
    if selector.get("is_to_all"):
        followers = ctx.state.followers
        if followers is None:
            followers = list(dict.fromkeys(o for m in book.members.values() for o in m))
        return _mass(ctx, followers, ["all"])
    tag = _tag_id(selector.get("tag_id"))
    if tag not in book.names:
        raise ApiError(45159)
    return _mass(ctx, list(book.members[tag]), ["tag", tag])


def mass_send(ctx: Ctx) -> dict[str, Any]:
    touser = ctx.body.get("touser")
    if not isinstance(touser, list):
        raise ApiError(47001)
    recipients = list(dict.fromkeys(_openid(value) for value in touser))
    if len(recipients) < 2:
        raise ApiError(40130)
    if len(recipients) > MASS_MAX:
        raise ApiError(40032)
    return _mass(ctx, recipients, ["openids", sorted(recipients)])


# -- tags ------------------------------------------------------------------------------------


def _tag_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(45159) from None


def _tag_name(book: Any, value: Any, keep: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(45157)
    if len(value.encode("utf-8")) > 30:
        raise ApiError(45158)
    if any(name == value and tag != keep for tag, name in book.names.items()):
        raise ApiError(45157)
    return value


def _tag_body(ctx: Ctx) -> dict[str, Any]:
    tag = ctx.body.get("tag")
    if not isinstance(tag, dict):
        raise ApiError(47001)
    return tag


def _user_tag(ctx: Ctx, value: Any) -> int:
    tag = _tag_id(value)
    if tag in (0, 1, *SYSTEM_TAGS):
        raise ApiError(45058)
    if tag not in ctx.state.tag_book(ctx.account or "").names:
        raise ApiError(45159)
    return tag


def tags_create(ctx: Ctx) -> dict[str, Any]:
    book = ctx.state.tag_book(ctx.account or "")
    name = _tag_name(book, _tag_body(ctx).get("name"))
    if len(book.names) - len(SYSTEM_TAGS) >= TAGS_MAX:
        raise ApiError(45056)
    tag = book.next_id
    book.next_id += 1
    book.names[tag] = name
    book.members[tag] = {}
    return {"tag": {"id": tag, "name": name}}


def tags_get(ctx: Ctx) -> dict[str, Any]:
    book = ctx.state.tag_book(ctx.account or "")
    return {
        "tags": [
            {"id": tag, "name": name, "count": len(book.members[tag])}
            for tag, name in book.names.items()
        ]
    }


def tags_update(ctx: Ctx) -> dict[str, Any]:
    body = _tag_body(ctx)
    tag = _user_tag(ctx, body.get("id"))
    book = ctx.state.tag_book(ctx.account or "")
    book.names[tag] = _tag_name(book, body.get("name"), keep=tag)
    return OK


def tags_delete(ctx: Ctx) -> dict[str, Any]:
    tag = _user_tag(ctx, _tag_body(ctx).get("id"))
    book = ctx.state.tag_book(ctx.account or "")
    del book.names[tag]
    del book.members[tag]
    return OK


def _tagging(ctx: Ctx) -> tuple[int, list[str]]:
    book = ctx.state.tag_book(ctx.account or "")
    openids = ctx.body.get("openid_list")
    if not isinstance(openids, list) or not openids:
        raise ApiError(40032)
    if len(openids) > TAGGING_MAX:
        raise ApiError(40032)
    openids = [_openid(value) for value in openids]
    tag = _tag_id(ctx.body.get("tagid"))
    if tag not in book.names:
        raise ApiError(45159)
    return tag, openids


def tags_batchtagging(ctx: Ctx) -> dict[str, Any]:
    tag, openids = _tagging(ctx)
    book = ctx.state.tag_book(ctx.account or "")
    for openid in openids:
        if openid not in book.members[tag] and len(book.tags_of(openid)) >= TAGS_PER_USER:
            raise ApiError(45059)
    for openid in openids:
        book.members[tag][openid] = None
    return OK


def tags_batchuntagging(ctx: Ctx) -> dict[str, Any]:
    tag, openids = _tagging(ctx)
    members = ctx.state.tag_book(ctx.account or "").members[tag]
    for openid in openids:
        members.pop(openid, None)
    return OK


def user_tag_get(ctx: Ctx) -> dict[str, Any]:
    book = ctx.state.tag_book(ctx.account or "")
    tag = _tag_id(ctx.body.get("tagid"))
    if tag not in book.names:
        raise ApiError(45159)
    members = list(book.members[tag])
    start = 0
    after = ctx.body.get("next_openid") or ""
    if after:
        if after not in book.members[tag]:
            raise ApiError(40003)
        start = members.index(after) + 1
    page = members[start : start + TAG_PAGE]
    if not page:  # like user/get: no `data` when the page is empty
        return {"count": 0, "next_openid": ""}
    return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1]}


def tags_getidlist(ctx: Ctx) -> dict[str, Any]:
    openid = _openid(ctx.body.get("openid"))
    return {"tagid_list": ctx.state.tag_book(ctx.account or "").tags_of(openid)}


# -- menu ------------------------------------------------------------------------------------


def menu_create(ctx: Ctx) -> dict[str, Any]:
    # Tencent refuses \uXXXX escapes in a menu (json.dumps' default ensure_ascii=True).
    if ESCAPED.search(ctx.raw):
        raise ApiError(40033)
    ctx.state.menus[(ctx.account or "", None)] = menus.validate(ctx.body)
    return OK


def menu_get(ctx: Ctx) -> dict[str, Any]:
    buttons = ctx.state.menus.get((ctx.account or "", None))
    if buttons is None:
        raise ApiError(46003)
    return {"menu": {"button": menus.as_menu_get(buttons)}}


def selfmenu_info(ctx: Ctx) -> dict[str, Any]:
    buttons = ctx.state.menus.get((ctx.account or "", None))
    return {
        "is_menu_open": 1 if buttons else 0,
        "selfmenu_info": {"button": menus.as_selfmenu_info(buttons or [])},
    }


def menu_delete(ctx: Ctx) -> dict[str, Any]:
    ctx.state.menus.pop((ctx.account or "", None), None)
    return OK


# -- parametric QR codes ---------------------------------------------------------------------


def qrcode_create(ctx: Ctx) -> dict[str, Any]:
    """A new code on every call, as far as a client can tell: the client keeps its permanent
    codes (Tencent allows 100,000 of them) and must not ask twice for one scene."""
    body, action = ctx.body, ctx.body.get("action_name")
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if action not in QR_TEMPORARY | QR_PERMANENT or not isinstance(scene, dict):
        raise ApiError(40053)
    if action.endswith("_STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 0 < len(value.encode()) <= QR_MAX_SCENE_STR:
            raise ApiError(40053)
    else:
        value = scene.get("scene_id")
        top = QR_MAX_SCENE_ID if action in QR_PERMANENT else 2**32 - 1
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= top:
            raise ApiError(40053)
    seq = next(ctx.state.ids)
    url = f"http://weixin.qq.com/q/fake{seq:x}"
    # Tencent's ticket is opaque base64 that happens to carry the URL; so is this one.
    ticket = base64.b64encode(f"{seq}:{url}".encode()).decode()
    answer: dict[str, Any] = {"ticket": ticket, "url": url}
    if action in QR_TEMPORARY:
        seconds = body.get("expire_seconds", QR_DEFAULT_SECONDS)
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
            raise ApiError(40053)
        answer["expire_seconds"] = min(seconds, QR_MAX_SECONDS)
    return answer
