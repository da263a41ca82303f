"""`python -m bot menu push`: the menus from config/, checked before anything is sent."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from bot.outbound.menu import MenuError, build_menu
from tests.conftest import ROOT

EXAMPLE = tomllib.loads((ROOT / "config" / "library.example.toml").read_text(encoding="utf-8"))


def test_the_example_menu_becomes_wechats_shape() -> None:
    body = build_menu(EXAMPLE["menu"])
    assert body == {
        "button": [
            {"type": "click", "name": "开馆时间", "key": "HOURS"},
            {
                "name": "空间预约",
                "sub_button": [
                    {"type": "click", "name": "预约座位", "key": "RESERVE"},
                    {"type": "click", "name": "我的预约", "key": "MY_BOOKINGS"},
                    {"type": "click", "name": "签到", "key": "CHECK_IN"},
                ],
            },
            {
                "name": "更多",
                "sub_button": [
                    {"type": "click", "name": "意见反馈", "key": "FEEDBACK"},
                    {"type": "click", "name": "使用帮助", "key": "HELP"},
                    {"type": "click", "name": "联系馆员", "key": "HUMAN"},
                ],
            },
        ]
    }


def menu(*buttons: dict[str, Any], keys: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "keys": keys if keys is not None else {"HOURS": "opening_hours"},
        "buttons": list(buttons),
    }


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (menu(), "1 to 3 top buttons"),
        (menu(*[{"name": "开馆", "key": "HOURS"}] * 4), "1 to 3 top buttons"),
        (menu({"name": "开馆时间查询一下", "key": "HOURS"}), "a name of 1 to 16 bytes"),
        (menu({"name": "", "key": "HOURS"}), "a name of 1 to 16 bytes"),
        (menu({"name": "开馆", "key": "NOPE"}), "'NOPE' is not in [menu.keys]"),
        (menu({"name": "开馆", "key": "HOURS"}, keys={"HOURS": "sing"}), "not an intent"),
        (menu({"name": "官网", "url": "ftp://x"}), "url must start with http"),
        (menu({"name": "空"}), "give it a key, a url or sub-buttons"),
        (menu({"name": "更多", "sub": [{"name": "开馆", "key": "HOURS"}] * 6}), "at most 5"),
    ],
)
def test_a_bad_menu_is_refused_with_a_sentence(config: dict[str, Any], words: str) -> None:
    with pytest.raises(MenuError) as error:
        build_menu(config)
    assert words in str(error.value)


def test_a_view_button_links_a_page() -> None:
    body = build_menu(menu({"name": "官网", "url": "https://lib.example.edu.cn"}))
    assert body["button"] == [{"type": "view", "name": "官网", "url": "https://lib.example.edu.cn"}]
