"""The one yes/no/cancel vocabulary (bot.core.words), read the same by forms, the router and
every capability that asks."""

from __future__ import annotations

import pytest

from bot.core.words import bare, is_cancel, is_no, is_yes


@pytest.mark.parametrize(
    "text",
    ["好的", "行", "确定", "1", "确认", "是", "嗯", "嗯嗯嗯", "没问题", "可以", "ok", "OK", "Yes"],
)
def test_yes(text: str) -> None:
    assert is_yes(text)
    assert not is_no(text) and not is_cancel(text)


@pytest.mark.parametrize("text", ["不用了", "算了", "不", "不要", "不用", "no", "2", "取消"])
def test_no(text: str) -> None:
    assert is_no(text)
    assert not is_yes(text)


@pytest.mark.parametrize("text", ["不用了", "算了", "取消", "退出", "不要了", "cancel", "QUIT"])
def test_cancel_words_are_also_no(text: str) -> None:
    assert is_cancel(text) and is_no(text)


@pytest.mark.parametrize("text", ["不", "不要", "不用", "no", "2"])
def test_a_plain_no_is_not_a_cancel(text: str) -> None:
    # 「不」 answers the question; only giving up on it all is the router's 取消.
    assert not is_cancel(text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        (" 好的！", "好的"),
        ("行👌", "行"),
        ("ＯＫ", "ok"),
        ("１", "1"),
        ("确 定", "确定"),
        ("算了吧", "算了吧"),
        ("不用了。。。", "不用了"),
        ("好的～", "好的"),
        ("是？", "是"),
        ("", ""),
    ],
)
def test_answers_are_compared_bare(text: str, word: str) -> None:
    assert bare(text) == word


@pytest.mark.parametrize(
    "text", ["", "嗯？让我想想", "好的我再想想", "不好", "11", "3", "取消预约"]
)
def test_other_words_are_neither(text: str) -> None:
    assert not is_yes(text) and not is_no(text) and not is_cancel(text)
