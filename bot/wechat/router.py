"""From an `Incoming` to a `Reply`: four stages, in order, over one `Turn` (bot.wechat.turn).

**understand** — the text, trimmed; its parse (intent, entities, the crisis signal); the
dialog state, loaded once; a scanned URL turned into its QR scene.

**decide** — which action runs, or which reply is given without one, in this order:
1. Events: subscribe → welcome; unsubscribe → nothing; menu clicks → the key's intent;
   QR scans → the capability that claims the scene prefix.
2. A crisis signal wins over everything, an open form included: the crisis capability's
   action runs (it opens the ticket).
3. 转人工; then a reader whose ban is in force is told why and until when, and nothing else
   runs (crisis help and 转人工, with the question asked after it, always work; menu clicks
   and scans are refused alike). Then the other global commands: 帮助/菜单, 取消/退出
   (ends an active form).
4. An answer to "which of these did you mean?", if the bot just asked.
5. The active form, unless the reader clearly changed the subject.
6. The intent of the text — a follow-up such as 「那后天呢？」 keeps the last intent with the new
   entities; too unsure a guess asks which of the two best was meant; what is not understood
   is kept for staff (intents.unrecognised).

**act** — the chosen rasa-sdk Action runs in-process with a Tracker built from the dialog
state; the events it returns (SlotSet, ActiveLoop, ...) update that state. This is the one
place that turns handler failures into replies: UserFacingError's sentence as it is, any
other exception logged once and answered calmly.

**remember** — one transaction: the unrecognised text (and the reader's pick among the
guesses), the dialog state, and the message counted once in bot.wechat.stats under the
intent it ended up as. A failed count never costs the reader their answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlite_utils import Database

from bot.core import users
from bot.core.db import write_transaction
from bot.core.errors import BUSY, UserFacingError
from bot.core.values import EmptyReply, Incoming, Reply
from bot.core.words import is_cancel, is_yes
from bot.outbound import qr
from bot.wechat import stats
from bot.wechat import words as messages
from bot.wechat.turn import (
    CONTEXT,
    PENDING_CHOICE,
    Turn,
    apply_events,
    reply_from_messages,
)
from handlers.kit.actions import LibraryAction
from handlers.kit.capability import HANDOFF_ACTION, Capability, Reader
from handlers.kit.forms import CANCEL_IS_NO, FormAction
from handlers.kit.services import Services
from intents import dialog_state, unrecognised
from intents.catalogue import INTENTS, NOT_OFFERED, label
from intents.dialog_state import DialogState
from intents.result import Parser, ParseResult

__all__ = ["Parser", "Router", "apply_events", "hash_user", "log_ref", "reply_from_messages"]

log = logging.getLogger("guanban.router")


HELP_COMMAND = re.compile(r"^(帮助|菜单|help|menu)$", re.IGNORECASE)
HUMAN_COMMAND = re.compile(r"^(转人工|人工|人工客服)$")
TRAILING_PUNCTUATION = re.compile(r"[\s。.!！~～]+$")

ACTION_WELCOME = "action_welcome"
ACTION_HELP = "action_help"
ACTION_HUMAN = HANDOFF_ACTION
ACTION_CRISIS = "action_crisis"
FOLLOW_UP = re.compile(r"^(那|那么|那要是|要是|如果是|换成|改成|还有)|呢[?？\s]*$")
FIRST = re.compile(r"^(1|一|第一个?|前者|前面那个|第1个?)$")
SECOND = re.compile(r"^(2|二|第二个?|后者|后面那个|第2个?)$")
# Intents whose answer a follow-up can refine; the others have no entities worth carrying.
NOT_CARRIED = frozenset({"greet", "help", "feedback", "human", "crisis", "affirm", "deny"})
# A form yields to another intent only when the classifier is this sure of it.
CHANGE_OF_SUBJECT = 0.8
SILENT_EVENTS = {"unsubscribe", "view", "location", "templatesendjobfinish", "masssendjobfinish"}
SCAN_EVENTS = ("scan", "scancode_push", "scancode_waitmsg")
# What the pipeline keeps of a reply (for WeChat's resends), written with the turn's own rows;
# True when it was stored.
Keep = Callable[[Database, Reply], bool]


class Discard(Exception):
    """Raised by a `Keep` to drop the whole turn's writes: another process answers it."""


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
        self.keeps_heard = [c.keeps_reader_heard for c in capabilities if c.keeps_reader_heard]
        # The sentences that suggest 「转人工」, only where this build can hand a reader over.
        self.handoff = ACTION_HUMAN in self.actions
        self.unknown_scene, self.not_understood, self.coming_soon = (
            (messages.UNKNOWN_SCENE, messages.NOT_UNDERSTOOD, messages.COMING_SOON)
            if self.handoff
            else (
                messages.UNKNOWN_SCENE_ALONE,
                messages.NOT_UNDERSTOOD_ALONE,
                messages.COMING_SOON_ALONE,
            )
        )
        self.menu_keys: dict[str, str] = dict(services.library.get("menu", {}).get("keys", {}))
        self.log_secret = services.settings.resolved_secret_key()

    def handle(self, incoming: Incoming) -> Reply:
        """Answer one message. Never raises: failures become a calm reply."""
        return self.finish(self.begin(incoming))

    def begin(self, incoming: Incoming) -> Turn:
        """Understand and decide: what will answer the message (see `quick`)."""
        turn = Turn(incoming, self.services.now(), counted=incoming.kind in ("text", "voice"))
        with self._failures_answered(turn):
            self._understand(turn)
            self._decide(turn)
        return turn

    def quick(self, turn: Turn) -> bool:
        """Whether what is left of the turn is quick enough for the request's own thread:
        no action, or one that says so (LibraryAction.quick)."""
        action = self.actions.get(turn.action) if turn.action else None
        return action is None or action.quick

    def finish(self, turn: Turn, keep: Keep | None = None) -> Reply:
        """Act and remember; the reply. Never raises. `keep(db, reply)`, when given, is
        written in remember's transaction (the pipeline's copy of the reply for resends);
        `turn.kept` says whether it was."""
        with self._failures_answered(turn):
            self._act(turn)
        self._remember(turn, keep)
        return turn.final_reply()

    @contextmanager
    def _failures_answered(self, turn: Turn) -> Iterator[None]:
        try:
            yield
        except UserFacingError as error:
            turn.say(error.message)
            turn.action = None
            turn.save_state = False
        except Exception:
            log.exception("handler failed: %s", self._who(turn))
            turn.say(BUSY)
            turn.action = None
            turn.save_state = False

    # -- understand ----------------------------------------------------------------------

    def _understand(self, turn: Turn) -> None:
        incoming = turn.incoming
        if incoming.kind == "event":
            if incoming.event in SILENT_EVENTS or incoming.event == "enter_agent":
                return
            if incoming.event in SCAN_EVENTS:
                # A 公众号 code scanned with WeCom's scan button arrives as the code's URL.
                scene = qr.scene_for(self.services.db(), incoming.event_key)
                turn.incoming = incoming = replace(incoming, event_key=scene)
        elif incoming.kind in ("text", "voice"):
            turn.text = incoming.text.strip()
            if not turn.text:
                return
            turn.command = TRAILING_PUNCTUATION.sub("", turn.text)
            turn.parse = self.parser(turn.text, turn.now)
        else:
            return
        idle = timedelta(minutes=self.services.settings.dialog_idle_minutes)
        turn.state = dialog_state.load(self.services.db(), incoming.sender_id, turn.now, idle)

    # -- decide --------------------------------------------------------------------------

    def _decide(self, turn: Turn) -> None:
        kind = turn.incoming.kind
        if kind == "event":
            self._decide_event(turn)
        elif kind in ("text", "voice"):
            self._decide_text(turn)
        else:
            turn.say(messages.UNSUPPORTED_KIND)

    def _decide_event(self, turn: Turn) -> None:
        incoming = turn.incoming
        event = incoming.event
        scene = self._scene_action(incoming.event_key)
        if event in ("click", *SCAN_EVENTS) or (event == "subscribe_scan" and scene):
            human = event == "click" and self.menu_keys.get(incoming.event_key) == "human"
            refusal = None if human else self._banned(turn)
            if refusal is not None:
                turn.say(refusal)
                return
        if event == "enter_agent":
            turn.say(EmptyReply())  # WeCom sends this on every app open: stay quiet
        elif (event == "subscribe_scan" and scene) or event in SCAN_EVENTS:
            if scene is None or scene not in self.actions:
                turn.say(self.unknown_scene)
            else:
                turn.run(scene, self._parse_of(incoming, "scan"))
        elif event in ("subscribe", "subscribe_scan"):
            turn.run(ACTION_WELCOME, self._parse_of(incoming, "greet"))
        elif event == "click":
            intent = self.menu_keys.get(incoming.event_key)
            action = f"action_{intent}" if intent else None
            if action not in self.actions:
                turn.say(messages.UNKNOWN_MENU_KEY)
            else:
                turn.run(action, self._parse_of(incoming, intent or ""))
        else:
            # Other events (view, location reports, job-finished notices, ...) want no answer.
            turn.say(EmptyReply())

    def _decide_text(self, turn: Turn) -> None:
        if not turn.text:
            turn.intent = stats.OUT_OF_SCOPE
            voice = turn.incoming.kind == "voice"
            turn.say(messages.VOICE_UNRECOGNISED if voice else messages.EMPTY_TEXT)
            return
        parse, command, state = turn.understood, turn.command, turn.dialog
        if parse.intent == "crisis" and not parse.ambiguous:
            # Before commands and forms: whatever the reader was doing, this comes first.
            turn.intent = "crisis"
            if ACTION_CRISIS in self.actions:
                turn.run(ACTION_CRISIS)
            else:
                turn.say(messages.CRISIS_FALLBACK)
            return
        if HUMAN_COMMAND.match(command):
            turn.intent = "human"
            turn.run(ACTION_HUMAN, self._parse_of(turn.incoming, "human"))
            return
        refusal = self._banned(turn)
        if refusal is not None and not self._ban_paused(turn):
            turn.intent = stats.BANNED
            turn.say(refusal)
            return
        if HELP_COMMAND.match(command):
            turn.intent = "help"
            turn.run(ACTION_HELP, self._parse_of(turn.incoming, "help"))
            return
        if is_cancel(command) and not self._form_answers_cancel(state):
            turn.intent = stats.CANCEL
            # A guess offered for 「是」 is something going on too: 「算了」 declines it.
            if not state.active_form and PENDING_CHOICE not in state.slots:
                turn.say(messages.NOTHING_TO_CANCEL)
            else:
                turn.state = DialogState(turn.incoming.sender_id)
                turn.save_state = True
                turn.say(messages.CANCELLED)
            return
        choice = state.slots.pop(PENDING_CHOICE, None)
        if choice:
            turn.parse = parse = self._chosen(turn, choice)
        if state.active_form in self.forms:
            form_action = self.forms[state.active_form]
            if not self._changes_subject(form_action, turn):
                turn.intent = form_action.removeprefix("action_")
                turn.run(form_action)
                return
            turn.notes.append(
                messages.LEFT_FORM.format(label=label(form_action.removeprefix("action_")))
            )
            turn.state = DialogState(turn.incoming.sender_id, last_intent=state.last_intent)
        turn.parse = self._follow_up(parse, turn.dialog)
        self._decide_intent(turn)

    def _decide_intent(self, turn: Turn) -> None:
        parse = turn.understood
        if parse.ambiguous:
            self._ask_which(turn)
            return
        action = f"action_{parse.intent}"
        understood = action in self.actions or (
            parse.intent in INTENTS and parse.intent != "out_of_scope"
        )
        turn.intent = parse.intent if understood else stats.OUT_OF_SCOPE
        if action in self.actions:
            turn.run(action)
            return
        turn.dialog.last_intent = parse.intent
        turn.save_state = True
        if parse.intent == "affirm":
            turn.say(messages.AFFIRM_ALONE)
        elif parse.intent == "deny":
            turn.say(messages.DENY_ALONE)
        elif understood:
            turn.say(self.coming_soon.format(label=label(parse.intent)))
        else:
            turn.unrecognised = unrecognised.OUT_OF_SCOPE
            turn.say(self.not_understood)

    def _banned(self, turn: Turn) -> str | None:
        """The one sentence for a reader whose ban is in force, else None."""
        incoming = turn.incoming
        ban = users.banned(self.services.db(), incoming.channel, incoming.user_id, turn.now)
        return None if ban is None else users.ban_notice(ban, turn.now, self.handoff)

    def _ban_paused(self, turn: Turn) -> bool:
        """A ban does not silence a reader telling the librarian their question after 转人工,
        nor one whose crisis hand-off is still open: the crisis answer invites them to go on
        talking, and it must stay true until a librarian has closed that ticket."""
        active_form = turn.dialog.active_form
        if active_form and self.forms.get(active_form) == ACTION_HUMAN:
            return True
        reader = Reader(turn.incoming.channel, turn.incoming.user_id)
        return any(hook(self.services, reader) for hook in self.keeps_heard)

    def _form_answers_cancel(self, state: DialogState) -> bool:
        """Whether the open form's question is itself about cancelling (CANCEL_IS_NO)."""
        return state.active_form in self.forms and bool(state.slots.get(CANCEL_IS_NO))

    def _changes_subject(self, form_action: str, turn: Turn) -> bool:
        """A form keeps the conversation unless the message answers nothing in it and is
        confidently something else the bot can do (「几点闭馆？」 halfway through a booking)."""
        parse = turn.understood
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
        return not action.accepts(self._tracker(turn))

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

    def _ask_which(self, turn: Turn) -> None:
        parse = turn.understood
        best = parse.ranking[0][0] if parse.ranking else parse.intent
        options = [name for name, _ in parse.ranking[:2] if name not in NOT_OFFERED]
        options = [name for name in options if name in INTENTS]
        # A faint crisis guess is no crisis alarm (「我想借阅古籍」), but the door is left open.
        care = messages.GENTLE_CARE if best == "crisis" else ""
        if best == "out_of_scope" or not options:
            # The best guess is "none of ours": offering a distant second would be noise.
            intent = "out_of_scope" if best == "crisis" else parse.intent
            turn.notes.append(care.strip())
            turn.parse = replace(parse, intent=intent, ambiguous=False)
            self._decide_intent(turn)
            return
        turn.intent = stats.AMBIGUOUS
        turn.unrecognised = unrecognised.AMBIGUOUS
        turn.dialog.last_intent = None
        turn.offer = {"options": options, "text": parse.text, "entities": list(parse.entities)}
        turn.save_state = True
        if len(options) == 1:
            turn.say(care + messages.ASK_IF.format(label=label(options[0])))
        else:
            first, second = label(options[0]), label(options[1])
            turn.say(care + messages.ASK_WHICH.format(first=first, second=second))

    def _chosen(self, turn: Turn, choice: dict[str, Any]) -> ParseResult:
        """The reader's pick among the offered guesses, applied to what they first wrote;
        anything else is a new message and is understood as such."""
        answer, parse = turn.command, turn.understood
        options = choice.get("options") or []
        picked = None
        if FIRST.match(answer) or (len(options) == 1 and is_yes(answer)):
            picked = options[0] if options else None
        elif SECOND.match(answer) and len(options) > 1:
            picked = options[1]
        if picked is None:
            return parse
        if choice.get("row"):
            turn.chosen = (int(choice["row"]), picked)
        entities = tuple(choice.get("entities") or ())
        return ParseResult(str(choice.get("text", "")), picked, 1.0, entities, ((picked, 1.0),))

    def _scene_action(self, scene: str) -> str | None:
        # Longest prefix first, so "seat:" and "seat:vip:" can belong to different actions.
        for prefix in sorted(self.scenes, key=len, reverse=True):
            if scene.startswith(prefix):
                return self.scenes[prefix]
        return None

    def _parse_of(self, incoming: Incoming, intent: str) -> ParseResult:
        # An event carries no words of the reader: its key (a menu key such as "FEEDBACK",
        # a QR scene) is in the tracker's metadata, never in the text, or handlers that read
        # the text would store "FEEDBACK" as a reader's feedback.
        return ParseResult(incoming.text, intent, 1.0)

    # -- act -----------------------------------------------------------------------------

    def _act(self, turn: Turn) -> None:
        if turn.action is None:
            return
        if turn.action not in self.actions:  # built without its capability (see words)
            turn.say(messages.NOT_IN_THIS_BOT)
            turn.action, turn.save_state = None, False
            return
        parse, state = turn.understood, turn.dialog
        dispatcher = CollectingDispatcher()
        result = self.actions[turn.action].run(dispatcher, self._tracker(turn), {})
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        state.last_intent = parse.intent
        if not state.active_form:
            state.slots[CONTEXT] = list(parse.entities)
        apply_events(state, result or [])
        turn.say(reply_from_messages(dispatcher.messages))

    def _tracker(self, turn: Turn) -> Tracker:
        incoming, parse, state = turn.incoming, turn.understood, turn.dialog
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

    # -- remember ------------------------------------------------------------------------

    def _remember(self, turn: Turn, keep: Keep | None = None) -> None:
        """Write what the turn leaves behind, in one transaction. Losing the dialog state
        would make the reply a lie (「几个人？」 with the form forgotten), so that failure
        answers BUSY; a failed count is only logged."""
        if not (turn.save_state or turn.unrecognised or turn.chosen or turn.counted or keep):
            return
        db = self.services.db()
        incoming = turn.incoming
        kept = False
        try:
            with write_transaction(db):
                if turn.chosen:
                    unrecognised.choose(db, *turn.chosen)
                if turn.unrecognised and turn.parse is not None:
                    row = unrecognised.record(
                        db,
                        incoming.channel,
                        incoming.user_id,
                        turn.parse,
                        turn.unrecognised,
                        turn.now,
                    )
                    if turn.offer is not None and turn.state is not None:
                        turn.state.slots[PENDING_CHOICE] = {**turn.offer, "row": row}
                if turn.save_state and turn.state is not None:
                    dialog_state.save(db, turn.state, turn.now)
                if turn.counted:
                    self._count(turn)
                if keep is not None:
                    kept = keep(db, turn.final_reply())
            turn.kept = kept  # only once committed
        except Discard:
            turn.discarded = True
        except Exception:
            log.exception("could not remember the turn: %s", self._who(turn))
            if turn.save_state:
                turn.say(BUSY)
                turn.notes.clear()

    def _count(self, turn: Turn) -> None:
        # A savepoint, so that a failed count rolls back alone and the rest is still written.
        db = self.services.db()
        db.execute("SAVEPOINT count_message")
        try:
            stats.record(db, turn.incoming.channel, turn.intent, turn.now)
        except Exception:
            db.execute("ROLLBACK TO count_message")
            # Statistics never cost a reader their answer; the failure is logged once.
            log.exception("could not count a message: %s", self._who(turn))
        db.execute("RELEASE count_message")

    def _who(self, turn: Turn) -> str:
        return log_ref(self.log_secret, turn.incoming)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
