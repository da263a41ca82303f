"""From an `Incoming` to a `Reply`: which action runs, in an explicit order.

1. Events: subscribe → welcome; unsubscribe → nothing; menu clicks → the key's intent;
   QR scans → the capability that claims the scene prefix.
2. Text is parsed first, and a crisis signal wins over everything, an open form included.
3. 转人工; then a reader whose ban is in force is told why and until when, and nothing else
   runs (crisis help and 转人工, with the question asked after it, always work; menu clicks
   and scans are refused alike).
   Then the other global commands: 帮助/菜单, 取消/退出 (ends an active form).
4. An answer to "which of these did you mean?", if the bot just asked.
5. The active form, unless the reader clearly changed the subject.
6. The intent of the text — a follow-up such as 「那后天呢？」 keeps the last intent with the new
   entities; too unsure a guess asks which of the two best was meant; what is not understood
   is stored for staff (intents.unrecognised).

Every text message is counted once in bot.wechat.stats under the intent it ended up as (see there).

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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core import users
from bot.core.errors import BUSY, UserFacingError
from bot.core.values import Article, EmptyReply, Incoming, NewsReply, Reply, TextReply
from bot.outbound import qr
from bot.wechat import stats
from bot.wechat import words as messages
from handlers.kit.actions import LibraryAction
from handlers.kit.capability import Capability, Reader
from handlers.kit.forms import FormAction
from handlers.kit.services import Services
from intents import dialog_state, unrecognised
from intents.catalogue import INTENTS, NOT_OFFERED, label
from intents.dialog_state import DialogState
from intents.result import Parser, ParseResult

log = logging.getLogger("guanban.router")


HELP_COMMAND = re.compile(r"^(帮助|菜单|help|menu)$", re.IGNORECASE)
CANCEL_COMMAND = re.compile(r"^(取消|退出|算了|不用了|不要了|cancel|quit)$", re.IGNORECASE)
HUMAN_COMMAND = re.compile(r"^(转人工|人工|人工客服)$")
TRAILING_PUNCTUATION = re.compile(r"[\s。.!！~～]+$")

ACTION_WELCOME = "action_welcome"
ACTION_HELP = "action_help"
ACTION_HUMAN = "action_human"
ACTION_CRISIS = "action_crisis"
# Dialog-state keys the router keeps beside a form's slots.
PENDING_CHOICE = "pending_choice"  # the guesses offered when the bot was unsure
CONTEXT = "context_entities"  # the last request's entities, for 「那后天呢？」
FOLLOW_UP = re.compile(r"^(那|那么|那要是|要是|如果是|换成|改成|还有)|呢[?？\s]*$")
FIRST = re.compile(r"^(1|一|第一个?|前者|前面那个|第1个?)$")
SECOND = re.compile(r"^(2|二|第二个?|后者|后面那个|第2个?)$")
YES = re.compile(r"^(是|是的|对|对的|嗯+|好|好的|没错|yes|y|ok)$", re.IGNORECASE)
# Intents whose answer a follow-up can refine; the others have no entities worth carrying.
NOT_CARRIED = frozenset({"greet", "help", "feedback", "human", "crisis", "affirm", "deny"})
# A form yields to another intent only when the classifier is this sure of it.
CHANGE_OF_SUBJECT = 0.8
SILENT_EVENTS = {"unsubscribe", "view", "location", "templatesendjobfinish", "masssendjobfinish"}


def hash_user(secret: str, user_id: str) -> str:
    """A stable, non-reversible id for logs: correlate one reader's errors, never name them."""
    return hashlib.sha256(f"{secret}:{user_id}".encode()).hexdigest()[:12]


def log_ref(secret: str, incoming: Incoming) -> str:
    """How logs name a message: its MsgId (or event and time) and the hashed sender."""
    message = incoming.message_id or f"{incoming.event}@{int(incoming.time.timestamp())}"
    return f"message={message} user={hash_user(secret, incoming.user_id)}"


@dataclass
class Outcome:
    """What a text message ended up as, for bot.wechat.stats (set before its action runs, so a
    failing action is still counted under its intent)."""

    intent: str = stats.ERROR


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
        self.keeps_heard = [c.keeps_reader_heard for c in capabilities if c.keeps_reader_heard]
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
        if event in ("click", "scan", "scancode_push", "scancode_waitmsg") or (
            event == "subscribe_scan" and self._scene_action(incoming.event_key)
        ):
            human = event == "click" and self.menu_keys.get(incoming.event_key) == "human"
            refusal = None if human else self._banned(incoming, self.services.now())
            if refusal is not None:
                return refusal
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
        outcome = Outcome()
        try:
            return self._route_text(incoming, outcome)
        finally:
            self._count(incoming, outcome.intent)

    def _route_text(self, incoming: Incoming, outcome: Outcome) -> Reply:
        text = incoming.text.strip()
        if not text:
            outcome.intent = stats.OUT_OF_SCOPE
            if incoming.kind == "voice":
                return TextReply(messages.VOICE_UNRECOGNISED)
            return TextReply(messages.EMPTY_TEXT)
        now = self.services.now()
        parse = self.parser(text, now)
        if parse.intent == "crisis" and not parse.ambiguous:
            outcome.intent = "crisis"
            return self._crisis(incoming, parse)
        command = TRAILING_PUNCTUATION.sub("", text)
        if HUMAN_COMMAND.match(command):
            outcome.intent = "human"
            return self._run(ACTION_HUMAN, incoming, self._parse_of(incoming, "human"))
        refusal = self._banned(incoming, now)
        if refusal is not None and not self._ban_paused(incoming, now):
            outcome.intent = stats.BANNED
            return refusal
        if HELP_COMMAND.match(command):
            outcome.intent = "help"
            return self._run(ACTION_HELP, incoming, self._parse_of(incoming, "help"))
        if CANCEL_COMMAND.match(command):
            outcome.intent = stats.CANCEL
            return self._cancel(incoming, now)
        state = self._load_state(incoming, now)
        choice = state.slots.pop(PENDING_CHOICE, None)
        if choice:
            parse = self._chosen(choice, command, parse)
        note = ""
        if state.active_form in self.forms:
            form_action = self.forms[state.active_form]
            if not self._changes_subject(form_action, incoming, parse, state):
                outcome.intent = form_action.removeprefix("action_")
                return self._run(form_action, incoming, parse, state)
            note = messages.LEFT_FORM.format(label=label(form_action.removeprefix("action_")))
            state = DialogState(incoming.sender_id, last_intent=state.last_intent)
        reply = self._answer_intent(incoming, self._follow_up(parse, state), state, outcome)
        return _with_note(note, reply)

    def _answer_intent(
        self, incoming: Incoming, parse: ParseResult, state: DialogState, outcome: Outcome
    ) -> Reply:
        now = self.services.now()
        if parse.ambiguous:
            return self._ask_which(incoming, parse, state, outcome)
        action = f"action_{parse.intent}"
        understood = action in self.actions or (
            parse.intent in INTENTS and parse.intent != "out_of_scope"
        )
        outcome.intent = parse.intent if understood else stats.OUT_OF_SCOPE
        if action in self.actions:
            return self._run(action, incoming, parse, state)
        state.last_intent = parse.intent
        self._save_state(state, now)
        if parse.intent == "affirm":
            return TextReply(messages.AFFIRM_ALONE)
        if parse.intent == "deny":
            return TextReply(messages.DENY_ALONE)
        if parse.intent in INTENTS and parse.intent != "out_of_scope":
            return TextReply(messages.COMING_SOON.format(label=label(parse.intent)))
        self._remember_unrecognised(incoming, parse, unrecognised.OUT_OF_SCOPE)
        return TextReply(messages.NOT_UNDERSTOOD)

    def _banned(self, incoming: Incoming, now: datetime) -> Reply | None:
        """The one sentence for a reader whose ban is in force, else None."""
        ban = users.banned(self.services.db(), incoming.channel, incoming.user_id, now)
        return None if ban is None else TextReply(users.ban_notice(ban, now))

    def _ban_paused(self, incoming: Incoming, now: datetime) -> bool:
        """A ban does not silence a reader telling the librarian their question after 转人工,
        nor one whose crisis hand-off is still open: the crisis answer invites them to go on
        talking, and it must stay true until a librarian has closed that ticket."""
        active_form = self._load_state(incoming, now).active_form
        if active_form and self.forms.get(active_form) == ACTION_HUMAN:
            return True
        reader = Reader(incoming.channel, incoming.user_id)
        return any(hook(self.services, reader) for hook in self.keeps_heard)

    def _count(self, incoming: Incoming, intent: str) -> None:
        try:
            stats.record(self.services.db(), incoming.channel, intent, self.services.now())
        except Exception:
            # Statistics never cost a reader their answer; the failure is logged once.
            log.exception("could not count a message: %s", log_ref(self.log_secret, incoming))

    def _crisis(self, incoming: Incoming, parse: ParseResult) -> Reply:
        # Before commands and forms: whatever the reader was doing, this comes first.
        if ACTION_CRISIS not in self.actions:
            return TextReply(messages.CRISIS_FALLBACK)
        return self._run(ACTION_CRISIS, incoming, parse)

    def _changes_subject(
        self, form_action: str, incoming: Incoming, parse: ParseResult, state: DialogState
    ) -> bool:
        """A form keeps the conversation unless the message answers nothing in it and is
        confidently something else the bot can do (「几点闭馆？」 halfway through a booking)."""
        action = self.actions.get(form_action)
        if not isinstance(action, FormAction):
            return False  # a one-question form takes any text as its answer
        if parse.ambiguous or parse.confidence < CHANGE_OF_SUBJECT:
            return False
        if (
            parse.intent in ("affirm", "deny", "out_of_scope")
            or form_action == f"action_{parse.intent}"
        ):
            return False
        if f"action_{parse.intent}" not in self.actions:
            return False
        return not action.accepts(self._tracker(incoming, parse, state))

    def _follow_up(self, parse: ParseResult, state: DialogState) -> ParseResult:
        """「那后天呢？」 after an answer about tomorrow: the last intent, with the new entities
        over the ones it had."""
        last = state.last_intent
        if not parse.entities or not last or last in NOT_CARRIED:
            return parse
        if f"action_{last}" not in self.actions:
            return parse
        unsure = parse.ambiguous or parse.intent == "out_of_scope"
        if not (unsure or FOLLOW_UP.search(parse.text)):
            return parse
        if not unsure and parse.intent != last and parse.confidence >= CHANGE_OF_SUBJECT:
            return parse  # 「那我要荐购《原则》呢」 is a new request, not a follow-up
        new = {e["entity"] for e in parse.entities}
        kept = [e for e in state.slots.get(CONTEXT) or [] if e.get("entity") not in new]
        return replace(parse, intent=last, ambiguous=False, entities=(*kept, *parse.entities))

    def _ask_which(
        self, incoming: Incoming, parse: ParseResult, state: DialogState, outcome: Outcome
    ) -> Reply:
        best = parse.ranking[0][0] if parse.ranking else parse.intent
        options = [name for name, _ in parse.ranking[:2] if name not in NOT_OFFERED]
        options = [name for name in options if name in INTENTS]
        # A faint crisis guess is no crisis alarm (「我想借阅古籍」), but the door is left open.
        care = messages.GENTLE_CARE if best == "crisis" else ""
        if best == "out_of_scope" or not options:
            # The best guess is "none of ours": offering a distant second would be noise.
            intent = "out_of_scope" if best == "crisis" else parse.intent
            reply = self._answer_intent(
                incoming, replace(parse, intent=intent, ambiguous=False), state, outcome
            )
            return _with_note(care.strip(), reply)
        outcome.intent = stats.AMBIGUOUS
        row = self._remember_unrecognised(incoming, parse, unrecognised.AMBIGUOUS)
        state.last_intent = None
        state.slots[PENDING_CHOICE] = {
            "options": options,
            "row": row,
            "text": parse.text,
            "entities": list(parse.entities),
        }
        self._save_state(state, self.services.now())
        if len(options) == 1:
            return TextReply(care + messages.ASK_IF.format(label=label(options[0])))
        return TextReply(
            care + messages.ASK_WHICH.format(first=label(options[0]), second=label(options[1]))
        )

    def _chosen(self, choice: dict[str, Any], answer: str, parse: ParseResult) -> ParseResult:
        """The reader's pick among the offered guesses, applied to what they first wrote;
        anything else is a new message and is understood as such."""
        options = choice.get("options") or []
        picked = None
        if FIRST.match(answer) or (len(options) == 1 and YES.match(answer)):
            picked = options[0] if options else None
        elif SECOND.match(answer) and len(options) > 1:
            picked = options[1]
        if picked is None:
            return parse
        if choice.get("row"):
            unrecognised.choose(self.services.db(), int(choice["row"]), picked)
        entities = tuple(choice.get("entities") or ())
        return ParseResult(str(choice.get("text", "")), picked, 1.0, entities, ((picked, 1.0),))

    def _remember_unrecognised(self, incoming: Incoming, parse: ParseResult, reason: str) -> int:
        return unrecognised.record(
            self.services.db(),
            incoming.channel,
            incoming.user_id,
            parse,
            reason,
            self.services.now(),
        )

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
        # A 公众号 code scanned with WeCom's scan button arrives as the code's URL.
        incoming = replace(incoming, event_key=qr.scene_for(self.services.db(), incoming.event_key))
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
        if action_name not in self.actions:  # built without its capability (see words)
            return TextReply(messages.NOT_IN_THIS_BOT)
        now = self.services.now()
        if state is None:
            state = self._load_state(incoming, now)
        dispatcher = CollectingDispatcher()
        tracker = self._tracker(incoming, parse, state)
        result = self.actions[action_name].run(dispatcher, tracker, {})
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        state.last_intent = parse.intent
        if not state.active_form:
            state.slots[CONTEXT] = list(parse.entities)
        apply_events(state, result or [])
        self._save_state(state, now)
        return reply_from_messages(dispatcher.messages)

    def _tracker(self, incoming: Incoming, parse: ParseResult, state: DialogState) -> Tracker:
        return Tracker(
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


def _with_note(note: str, reply: Reply) -> Reply:
    if note and isinstance(reply, TextReply):
        return TextReply(f"{note}\n{reply.content}")
    return reply


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
