"""Yes, no and cancel: the one vocabulary for every question a reader answers.

Forms (handlers.kit.forms), the router's 「你是想…吗？」 and 「取消」 (bot.wechat.router) and
every capability that asks (handlers.reservations' cancel confirmation) read answers here,
so 「好的」「行」「确定」「1」 say yes and 「不用了」「算了」 say no wherever a reader writes them.
The words are compared after `bare`: full-width folded (ＯＫ, １), case and spaces ignored,
punctuation and a thumbs-up around the word dropped (「好的！」「行👌」).
"""

from __future__ import annotations

import unicodedata

YES = frozenset(
    {
        "确认",
        "确定",
        "是",
        "是的",
        "对",
        "对的",
        "好",
        "好的",
        "好滴",
        "可以",
        "行",
        "没问题",
        "没错",
        "ok",
        "okay",
        "yes",
        "y",
        "1",  # and 「2」 for no: readers number their answers to a yes-or-no question too
    }
)
# Giving up on what is going on. The router takes these as its global command before a form
# sees them; a capability asked directly (Rasa's action server) still reads them as no.
CANCEL = frozenset({"取消", "退出", "算了", "不用了", "不要了", "cancel", "quit"})
NO = frozenset({"不", "否", "不是", "不对", "不要", "不用", "no", "n", "2"}) | CANCEL

_AROUND = " \t\r\n。.,，、!！?？~～…👌👍"


def bare(text: str) -> str:
    """The answer as the vocabulary is written: 「 ＯＫ！」 → 「ok」."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(folded.split()).strip(_AROUND)


def is_yes(text: str) -> bool:
    word = bare(text)
    # 「嗯」, 「嗯嗯」, 「嗯嗯嗯」: a nod of any length.
    return word in YES or (bool(word) and set(word) == {"嗯"})


def is_no(text: str) -> bool:
    return bare(text) in NO


def is_cancel(text: str) -> bool:
    return bare(text) in CANCEL
