"""One message on its way through the router, as a value the stages fill in order.

understand → decide → act → remember (see bot.wechat.router). Each stage reads what the
earlier ones wrote and adds its own part; none calls back into an earlier one. The value
also says what `remember` must write, so that all the bookkeeping of a message is one
transaction at the end instead of writes scattered through the decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.values import Article, EmptyReply, Incoming, NewsReply, Reply, TextReply
from bot.wechat import stats
from intents.dialog_state import DialogState
from intents.result import ParseResult

# Dialog-state keys the router keeps beside a form's slots.
PENDING_CHOICE = "pending_choice"  # the guesses offered when the bot was unsure
CONTEXT = "context_entities"  # the last request's entities, for 「那后天呢？」


@dataclass
class Turn:
    incoming: Incoming
    now: datetime
    # understand: the reader's words, what they mean, where the conversation stands
    text: str = ""
    command: str = ""  # the text without trailing punctuation, for the global commands
    parse: ParseResult | None = None
    state: DialogState | None = None
    # decide: one action to run, or a reply made without one; notes said before it
    action: str | None = None
    reply: Reply | None = None
    notes: list[str] = field(default_factory=list)
    # remember: what to write once the reply is known
    intent: str = stats.ERROR  # what the message counts as (set before the action runs)
    counted: bool = False  # text and voice are counted; events are not
    save_state: bool = False
    unrecognised: str | None = None  # the reason to keep the text for staff
    offer: dict[str, Any] | None = None  # the guesses offered, stored with the row's id
    chosen: tuple[int, str] | None = None  # (unrecognised row, the intent the reader picked)
    kept: bool = False  # the reply was stored for resends in remember's transaction
    discarded: bool = False  # remember found the message answered by another process

    @property
    def understood(self) -> ParseResult:
        assert self.parse is not None, "understand runs before decide"
        return self.parse

    @property
    def dialog(self) -> DialogState:
        assert self.state is not None, "understand loads the state of every routed message"
        return self.state

    def say(self, reply: Reply | str) -> None:
        self.reply = TextReply(reply) if isinstance(reply, str) else reply

    def run(self, action: str, parse: ParseResult | None = None) -> None:
        self.action = action
        if parse is not None:
            self.parse = parse
        self.save_state = True

    def final_reply(self) -> Reply:
        reply = self.reply or EmptyReply()
        for note in reversed(self.notes):
            if note and isinstance(reply, TextReply):
                reply = TextReply(f"{note}\n{reply.content}")
        return reply


def apply_events(state: DialogState, events: Iterable[dict[str, Any]]) -> None:
    """Fold the rasa-sdk events an action returned into the stored dialog state."""
    for event in events:
        kind = event.get("event")
        if kind == "slot":
            state.slots[event["name"]] = event.get("value")
        elif kind == "active_loop":
            state.active_form = event.get("name")
            if state.active_form is None:
                state.slots.pop("requested_slot", None)
        elif kind == "reset_slots":
            state.slots.clear()
        elif kind == "restart":
            state.slots.clear()
            state.active_form = None


def reply_from_messages(collected: list[dict[str, Any]]) -> Reply:
    """One passive reply from what the action said: news if it sent articles, else text."""
    for message in collected:
        articles = (message.get("custom") or {}).get("articles")
        if articles:
            return NewsReply(tuple(Article(**a) for a in articles[:8]))
    texts = [m["text"] for m in collected if m.get("text")]
    if texts:
        return TextReply("\n\n".join(texts))
    return EmptyReply()
