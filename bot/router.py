"""From an `Incoming` to a `Reply`: which action runs, in an explicit order.

1. Events: subscribe → welcome; unsubscribe → nothing; menu clicks → the key's intent;
   QR scans → the capability that claims the scene prefix.
2. Global commands, before anything else: 帮助/菜单, 取消/退出 (ends an active form), 转人工.
3. The active form, if a dialog is waiting for an answer.
4. The intent of the text.

Actions are rasa-sdk Actions run in-process with a Tracker built from the stored dialog
state; the events they return (SlotSet, ActiveLoop, ...) update that state. This is the one
place that turns handler failures into replies: UserFacingError's sentence as it is, any
other exception logged once and answered calmly.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import messages
from bot.errors import BUSY, UserFacingError
from bot.services import Services
from bot.values import Article, EmptyReply, Incoming, NewsReply, Reply, TextReply
from handlers.base import Capability, LibraryAction
from intents import dialog_state
from intents.dialog_state import DialogState
from intents.result import ParseResult

log = logging.getLogger("guanban.router")

Parser = Callable[[str, datetime], ParseResult]

HELP_COMMAND = re.compile(r"^(帮助|菜单|help|menu)$", re.IGNORECASE)
CANCEL_COMMAND = re.compile(r"^(取消|退出|算了|不用了|不要了|cancel|quit)$", re.IGNORECASE)
HUMAN_COMMAND = re.compile(r"^(转人工|人工|人工客服)$")
TRAILING_PUNCTUATION = re.compile(r"[\s。.!！~～]+$")

ACTION_WELCOME = "action_welcome"
ACTION_HELP = "action_help"
ACTION_HUMAN = "action_human"
SILENT_EVENTS = {"unsubscribe", "view", "location", "templatesendjobfinish", "masssendjobfinish"}


def hash_user(secret: str, user_id: str) -> str:
    """A stable, non-reversible id for logs: correlate one reader's errors, never name them."""
    return hashlib.sha256(f"{secret}:{user_id}".encode()).hexdigest()[:12]


def log_ref(secret: str, incoming: Incoming) -> str:
    """How logs name a message: its MsgId (or event and time) and the hashed sender."""
    message = incoming.message_id or f"{incoming.event}@{int(incoming.time.timestamp())}"
    return f"message={message} user={hash_user(secret, incoming.user_id)}"


class Router:
    def __init__(
        self, services: Services, capabilities: Iterable[Capability], parser: Parser
    ) -> None:
        self.services = services
        self.parser = parser
        self.actions: dict[str, LibraryAction] = {}
        self.scenes: dict[str, str] = {}
        self.forms: dict[str, str] = {}
        for capability in capabilities:
            for action_class in capability.actions:
                action = action_class(services)
                self.actions[action.name()] = action
            self.scenes.update(capability.scenes)
            self.forms.update(capability.forms)
        self.menu_keys: dict[str, str] = dict(services.library.get("menu", {}).get("keys", {}))
        self.log_secret = services.settings.resolved_secret_key()

    def handle(self, incoming: Incoming) -> Reply:
        """Answer one message. Never raises: failures become a calm reply."""
        try:
            return self._handle(incoming)
        except UserFacingError as error:
            return TextReply(error.message)
        except Exception:
            log.exception("handler failed: %s", log_ref(self.log_secret, incoming))
            return TextReply(BUSY)

    # -- routing -------------------------------------------------------------------------

    def _handle(self, incoming: Incoming) -> Reply:
        if incoming.kind == "event":
            return self._handle_event(incoming)
        if incoming.kind in ("text", "voice"):
            return self._handle_text(incoming)
        return TextReply(messages.UNSUPPORTED_KIND)

    def _handle_event(self, incoming: Incoming) -> Reply:
        event = incoming.event
        if event == "subscribe_scan" and self._scene_action(incoming.event_key):
            return self._run_scene(incoming)
        if event in ("subscribe", "subscribe_scan", "enter_agent"):
            if event == "enter_agent":
                return EmptyReply()  # WeCom sends this on every app open: stay quiet
            return self._run(ACTION_WELCOME, incoming, self._parse_of(incoming, "greet"))
        if event == "click":
            intent = self.menu_keys.get(incoming.event_key)
            action = f"action_{intent}" if intent else None
            if action not in self.actions:
                return TextReply(messages.UNKNOWN_MENU_KEY)
            return self._run(action, incoming, self._parse_of(incoming, intent))
        if event in ("scan", "scancode_push", "scancode_waitmsg"):
            return self._run_scene(incoming)
        # Other events (view, location reports, job-finished notices, ...) want no answer.
        return EmptyReply()

    def _handle_text(self, incoming: Incoming) -> Reply:
        text = incoming.text.strip()
        if not text:
            if incoming.kind == "voice":
                return TextReply(messages.VOICE_UNRECOGNISED)
            return TextReply(messages.EMPTY_TEXT)
        command = TRAILING_PUNCTUATION.sub("", text)
        now = self.services.now()
        if HELP_COMMAND.match(command):
            return self._run(ACTION_HELP, incoming, self._parse_of(incoming, "help"))
        if CANCEL_COMMAND.match(command):
            return self._cancel(incoming, now)
        if HUMAN_COMMAND.match(command):
            return self._run(ACTION_HUMAN, incoming, self._parse_of(incoming, "human"))
        parse = self.parser(text, now)
        state = self._load_state(incoming, now)
        if state.active_form and state.active_form in self.forms:
            return self._run(self.forms[state.active_form], incoming, parse, state)
        action = f"action_{parse.intent}"
        if action not in self.actions:
            self._save_state(DialogState(incoming.sender_id, last_intent=parse.intent), now)
            return TextReply(messages.NOT_UNDERSTOOD)
        return self._run(action, incoming, parse, state)

    def _cancel(self, incoming: Incoming, now: datetime) -> Reply:
        state = self._load_state(incoming, now)
        if not state.active_form:
            return TextReply(messages.NOTHING_TO_CANCEL)
        self._save_state(DialogState(incoming.sender_id), now)
        return TextReply(messages.CANCELLED)

    def _scene_action(self, scene: str) -> str | None:
        # Longest prefix first, so "seat:" and "seat:vip:" can belong to different actions.
        for prefix in sorted(self.scenes, key=len, reverse=True):
            if scene.startswith(prefix):
                return self.scenes[prefix]
        return None

    def _run_scene(self, incoming: Incoming) -> Reply:
        action = self._scene_action(incoming.event_key)
        if action is None or action not in self.actions:
            return TextReply(messages.UNKNOWN_SCENE)
        return self._run(action, incoming, self._parse_of(incoming, "scan"))

    # -- running actions -----------------------------------------------------------------

    def _parse_of(self, incoming: Incoming, intent: str) -> ParseResult:
        # An event carries no words of the reader: its key (a menu key such as "FEEDBACK",
        # a QR scene) is in the tracker's metadata, never in the text, or handlers that read
        # the text would store "FEEDBACK" as a reader's feedback.
        return ParseResult(incoming.text, intent, 1.0)

    def _run(
        self,
        action_name: str,
        incoming: Incoming,
        parse: ParseResult,
        state: DialogState | None = None,
    ) -> Reply:
        now = self.services.now()
        if state is None:
            state = self._load_state(incoming, now)
        tracker = Tracker(
            sender_id=incoming.sender_id,
            slots=dict(state.slots),
            latest_message={
                **parse.to_rasa(),
                "metadata": {
                    "channel": incoming.channel,
                    "user_id": incoming.user_id,
                    "kind": incoming.kind,
                    "event": incoming.event,
                    "event_key": incoming.event_key,
                    "message_id": incoming.message_id,
                },
            },
            events=[],
            paused=False,
            followup_action=None,
            active_loop={"name": state.active_form} if state.active_form else {},
            latest_action_name=None,
        )
        dispatcher = CollectingDispatcher()
        result = self.actions[action_name].run(dispatcher, tracker, {})
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        state.last_intent = parse.intent
        apply_events(state, result or [])
        self._save_state(state, now)
        return reply_from_messages(dispatcher.messages)

    def _load_state(self, incoming: Incoming, now: datetime) -> DialogState:
        idle = timedelta(minutes=self.services.settings.dialog_idle_minutes)
        return dialog_state.load(self.services.db(), incoming.sender_id, now, idle)

    def _save_state(self, state: DialogState, now: datetime) -> None:
        dialog_state.save(self.services.db(), state, now)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


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
