"""Custom menus: the checks Tencent makes on `menu/create` and the shapes it reads back.

Limits (公众号 docs, WeCom's error table): 1-3 top buttons, 1-5 sub buttons; a name of at
most 16 bytes on top and 60 below; a key of at most 128 bytes; a URL of at most 1024 bytes
that starts with http:// or https://. Lengths are UTF-8 bytes.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.dev.fake_wechat.errors import ApiError

KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
URL_TYPES = frozenset({"view", "miniprogram"})
MEDIA_TYPES = frozenset({"media_id", "view_limited"})
OTHER_TYPES = frozenset({"article_id", "article_view_limited"})
TYPES = KEY_TYPES | URL_TYPES | MEDIA_TYPES | OTHER_TYPES

# (top-level code, sub-button code) for each kind of mistake
SIZE = (40016, 40023)
TYPE = (40017, 40024)
NAME = (40018, 40025)
KEY = (40019, 40026)
URL = (40020, 40027)
DOMAIN = (40055, 40054)


def _bytes(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def validate(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a valid menu body; raises ApiError with Tencent's code otherwise."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(SIZE[0])
    for button in buttons:
        if not isinstance(button, dict):
            raise ApiError(TYPE[0])
        if not 1 <= _bytes(button.get("name")) <= 16:
            raise ApiError(NAME[0])
        subs = button.get("sub_button")
        if subs:  # an empty list marks a leaf, as menu/get answers it
            if not isinstance(subs, list) or len(subs) > 5:
                raise ApiError(SIZE[1])
            for sub in subs:
                if not isinstance(sub, dict):
                    raise ApiError(TYPE[1])
                if not 1 <= _bytes(sub.get("name")) <= 60:
                    raise ApiError(NAME[1])
                if sub.get("sub_button"):
                    raise ApiError(40022, "invalid sub menu level")
                _leaf(sub, 1)
        else:
            _leaf(button, 0)
    return buttons


def _leaf(button: dict[str, Any], level: int) -> None:
    kind = button.get("type")
    if kind not in TYPES:
        raise ApiError(TYPE[level])
    if kind in KEY_TYPES and not 1 <= _bytes(button.get("key")) <= 128:
        raise ApiError(KEY[level])
    if kind in URL_TYPES:
        url = button.get("url")
        if not 1 <= _bytes(url) <= 1024:
            raise ApiError(URL[level])
        if not str(url).startswith(("http://", "https://")):
            raise ApiError(DOMAIN[level])
    if kind in MEDIA_TYPES and not button.get("media_id"):
        raise ApiError(40007)


def as_menu_get(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """menu/get's shape: every button has a `sub_button` list (empty for leaves)."""
    out = copy.deepcopy(buttons)
    for button in out:
        button.setdefault("sub_button", [])
        for sub in button["sub_button"]:
            sub.setdefault("sub_button", [])
    return out


def as_selfmenu_info(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """get_current_selfmenu_info's shape: sub buttons under `{"sub_button": {"list": []}}`."""
    out = []
    for button in copy.deepcopy(buttons):
        subs = button.pop("sub_button", None)
        if subs:
            out.append({"name": button["name"], "sub_button": {"list": subs}})
        else:
            out.append(button)
    return out
