"""`python -m bot menu push`: the 公众号 custom menu and the WeCom app menu from config/.

The buttons come from [[menu.buttons]] in the library's TOML: `name` with `key` (a click the
router maps through [menu.keys] to an intent), `url` (a web page), or `sub` (up to five
buttons under one). Everything is checked before anything is sent, with WeChat's own limits,
so a typo is reported here in a sentence instead of as a bare errcode from WeChat.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bot.core.services import Services
from bot.outbound.api import WeChatError
from intents.catalogue import INTENTS

MAX_TOP, MAX_SUB = 3, 5
# WeChat counts bytes: a top button's name up to 16 (4 Chinese characters), a sub button's
# up to 60 (WeCom: 16 and 40).
MAX_TOP_BYTES, MAX_SUB_BYTES = 16, 40


class MenuError(ValueError):
    """The menu in config cannot be pushed; the message says what to change."""


def build_menu(menu: Mapping[str, Any]) -> dict[str, Any]:
    """The menu/create body for [menu] of the config, checked."""
    keys = dict(menu.get("keys") or {})
    for key, intent in keys.items():
        if intent not in INTENTS:
            raise MenuError(f"[menu.keys] {key} = {intent!r}: not an intent the bot knows")
    buttons = list(menu.get("buttons") or [])
    if not 1 <= len(buttons) <= MAX_TOP:
        raise MenuError(f"[[menu.buttons]]: 1 to {MAX_TOP} top buttons, found {len(buttons)}")
    return {"button": [_button(b, keys, top=True) for b in buttons]}


def _button(button: Mapping[str, Any], keys: Mapping[str, str], top: bool) -> dict[str, Any]:
    name = str(button.get("name") or "")
    limit = MAX_TOP_BYTES if top else MAX_SUB_BYTES
    if not name or len(name.encode()) > limit:
        raise MenuError(f"menu button {name!r}: a name of 1 to {limit} bytes is needed")
    if top and button.get("sub"):
        subs = list(button["sub"])
        if len(subs) > MAX_SUB:
            raise MenuError(f"menu button {name!r}: at most {MAX_SUB} sub-buttons")
        return {"name": name, "sub_button": [_button(s, keys, top=False) for s in subs]}
    if button.get("key"):
        key = str(button["key"])
        if key not in keys:
            raise MenuError(f"menu button {name!r}: key {key!r} is not in [menu.keys]")
        return {"type": "click", "name": name, "key": key}
    if button.get("url"):
        url = str(button["url"])
        if not url.startswith(("http://", "https://")):
            raise MenuError(f"menu button {name!r}: url must start with http:// or https://")
        return {"type": "view", "name": name, "url": url}
    raise MenuError(f"menu button {name!r}: give it a key, a url or sub-buttons")


def show_menus(services: Services) -> Iterator[str]:
    import json

    yield json.dumps(build_menu(services.library.get("menu") or {}), ensure_ascii=False, indent=2)


def push_menus(services: Services) -> Iterator[str]:
    """Create the menu on every configured account; yields one line per account."""
    from bot.outbound.sender import build_apis

    body = build_menu(services.library.get("menu") or {})
    mp, work = build_apis(services)
    if mp is None and work is None:
        raise MenuError(
            "no account to push to: set LIBBOT_MP_APPID/LIBBOT_MP_SECRET or "
            "LIBBOT_WORK_CORP_ID/LIBBOT_WORK_SECRET/LIBBOT_WORK_AGENT_ID"
        )
    try:
        if mp is not None:
            mp.post("/cgi-bin/menu/create", body)
            yield f"公众号 menu created ({len(body['button'])} buttons)"
        agent = services.settings.work_agent_id
        if work is not None and agent:
            work.post("/cgi-bin/menu/create", body, params={"agentid": agent})
            yield f"WeCom app {agent} menu created ({len(body['button'])} buttons)"
    except WeChatError as error:
        raise MenuError(f"WeChat refused the menu: {error}") from None
