"""Forms: a dialog that asks for what is missing, one question at a time.

A capability declares its slots (what to ask, which entity fills each, how to check a
value) and what to do once everything is known; `FormAction` holds the conversation:

- every message may fill several slots at once (「周四下午三点到五点，我们五个」), and a bare
  answer to the question just asked fills that slot (「5」 after 「几个人？」);
- each value is checked as it arrives — a date the library is closed, a time outside its
  hours — and the reader is told why and asked again;
- before anything that creates or cancels, the form repeats what it will do and waits for
  「确认」; a change of mind at that point (「改成后天」) updates the slot and asks again;
- 「不用了」 while a question waits, or 「不」 at the confirmation, ends it without doing anything
  (the router's global 「取消/算了」 does too). Which words say yes and no is bot.core.words',
  the same for every question the bot asks.

State lives in the dialog state (SQLite) through rasa-sdk's SlotSet/ActiveLoop events, so the
next answer may reach another worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core.words import is_no, is_yes
from handlers.kit.actions import Events, LibraryAction, as_date, as_time
from handlers.library.hours_text import day_label

REQUESTED = "requested_slot"
# Set while a question waits that is about cancelling something the reader has (「要取消这个
# 预约吗？」): the router then lets 「取消」「算了」 answer it as no, instead of ending the dialog
# with 「好的，已取消」, which would read as if the thing itself had been cancelled.
CANCEL_IS_NO = "cancel_is_no"
CONFIRM = "__confirm__"

ASK_CONFIRM = "回复「确认」提交，回复「取消」放弃；要修改也可以直接说，比如「改成后天」。"
CONFIRM_AGAIN = "还没有提交哦～ " + ASK_CONFIRM
NOT_DONE = "好的，没有提交。需要时随时再找我～"
ABANDONED = "好的，已取消，没有提交任何内容。"

_TRAILING = re.compile(r"[\s。.!！~～?？👌👍]+$")

# A validator returns None for a good value, or the sentence that says what is wrong.
Validator = Callable[["FormAction", Any, Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Review:
    """What a form says instead of its summary; `go_on` keeps it open (waiting for a pick or a
    new value, with `events` setting what it needs), else it ends. With `confirm`, the text
    *is* the summary (worked out with the check, not twice), and the confirmation is asked."""

    text: str
    go_on: bool = True
    events: Events = field(default_factory=list)
    confirm: bool = False


@dataclass(frozen=True)
class Slot:
    name: str
    ask: str
    # Entities that fill the slot; by default the entity of the same name.
    entities: tuple[str, ...] = ()
    # Reads a bare answer to this slot's question when no entity was found in it.
    from_text: Callable[[str], Any] | None = None
    validate: Validator | None = None
    # Entities that fill the slot when it is the question just asked: 「五点」 alone reads as a
    # start time, but answers 「到几点结束？」.
    answers: tuple[str, ...] = ()
    # Asked only when this holds for the slots known so far (group size: rooms only).
    needed: Callable[[Mapping[str, Any]], bool] | None = None

    def fills_from(self) -> tuple[str, ...]:
        return self.entities or (self.name,)

    def is_needed(self, slots: Mapping[str, Any]) -> bool:
        return self.needed is None or self.needed(slots)


class FormAction(LibraryAction):
    """Base of every form. Subclasses set FORM and SLOTS and write summary() and submit()."""

    FORM: ClassVar[str]
    SLOTS: ClassVar[tuple[Slot, ...]]
    CONFIRM: ClassVar[bool] = True

    # -- what subclasses write -------------------------------------------------------------

    def summary(self, slots: Mapping[str, Any]) -> str:
        """One or two lines saying what will be done, for the confirmation (unless review()
        gave them)."""
        raise NotImplementedError

    def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: Mapping[str, Any]
    ) -> Events:
        """Do it (create, cancel) and tell the reader. The form is closed afterwards."""
        raise NotImplementedError

    def derive(
        self,
        found: dict[str, Any],
        slots: Mapping[str, Any],
        entities: list[dict[str, Any]],
        text: str,
    ) -> None:
        """Fill slots from other slots, entities or the words themselves (an end time from a
        start and a duration; a seat number), into `found`. Optional."""

    def review(self, tracker: Tracker, slots: Mapping[str, Any]) -> Review | None:
        """Once every slot is known, before the confirmation: None when the request can be
        done as it stands, else what to say instead (the seats are all taken: here are the
        nearest alternatives). Optional."""
        return None

    # -- the conversation ------------------------------------------------------------------

    def accepts(self, tracker: Tracker) -> bool:
        """Whether the latest message answers this form (else the reader changed subject)."""
        requested = tracker.get_slot(REQUESTED)
        if requested == CONFIRM and (_is_yes(tracker) or _is_no(tracker)):
            return True
        return bool(self._found(tracker, requested, self._slots(tracker)))

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        in_form = tracker.active_loop_name == self.FORM
        requested = tracker.get_slot(REQUESTED) if in_form else None
        slots = self._slots(tracker) if in_form else {}
        found = self._found(tracker, requested, slots)

        if requested == CONFIRM and not found:
            if _is_yes(tracker):
                return self._submitted(self.submit(dispatcher, tracker, slots))
            if _is_no(tracker):
                dispatcher.utter_message(text=NOT_DONE)
                return self._close()
            dispatcher.utter_message(text=CONFIRM_AGAIN)
            return []
        if requested and not found and _is_no(tracker):
            dispatcher.utter_message(text=ABANDONED)
            return self._close()

        complaints = []
        for slot in self.SLOTS:
            if slot.name in found:
                value = found[slot.name]
                # Checked against everything this message says: 「改成五点到七点」 moves the
                # start past the old end, which is not a complaint since the end moves too.
                complaint = (
                    slot.validate(self, value, {**slots, **found}) if slot.validate else None
                )
                if complaint:
                    complaints.append(complaint)
                else:
                    slots[slot.name] = value
            elif found and slot.validate and slots.get(slot.name) is not None:
                # A value given earlier may not hold any more (09:00 was fine on Monday, the
                # new date is a Sunday that opens at 10:00): asked again, with the reason.
                complaint = slot.validate(self, slots[slot.name], slots)
                if complaint:
                    complaints.append(complaint)
                    slots[slot.name] = None
        events: Events = [SlotSet(s.name, slots.get(s.name)) for s in self.SLOTS]

        missing = next(
            (s for s in self.SLOTS if s.is_needed(slots) and slots.get(s.name) is None), None
        )
        if missing is not None:
            dispatcher.utter_message(text="\n".join([*complaints, missing.ask]))
            return [*events, ActiveLoop(self.FORM), SlotSet(REQUESTED, missing.name)]
        review = self.review(tracker, slots)
        if review is not None and not review.confirm:
            dispatcher.utter_message(text="\n".join([*complaints, review.text]))
            if not review.go_on:
                return self._close()
            return [*events, *review.events, ActiveLoop(self.FORM), SlotSet(REQUESTED, CONFIRM)]
        if not self.CONFIRM:
            return self._submitted(self.submit(dispatcher, tracker, slots))
        summary = review.text if review is not None else self.summary(slots)
        dispatcher.utter_message(text="\n".join([*complaints, summary, ASK_CONFIRM]))
        reviewed = review.events if review is not None else []
        return [*events, *reviewed, ActiveLoop(self.FORM), SlotSet(REQUESTED, CONFIRM)]

    # -- helpers ---------------------------------------------------------------------------

    def _slots(self, tracker: Tracker) -> dict[str, Any]:
        return {s.name: tracker.get_slot(s.name) for s in self.SLOTS}

    def _found(
        self, tracker: Tracker, requested: str | None, slots: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Slot values in the latest message: its entities, and a bare answer to the question."""
        entities = list(tracker.latest_message.get("entities") or [])
        found: dict[str, Any] = {}
        asked = next((s for s in self.SLOTS if s.name == requested), None)
        if asked is not None:
            own = [e for e in entities if e.get("entity") in asked.fills_from()]
            answer = [e for e in entities if e.get("entity") in asked.answers]
            if not own and answer:
                found[asked.name] = answer[0].get("value")
                entities.remove(answer[0])
        for slot in self.SLOTS:
            for entity in entities:
                if entity.get("entity") in slot.fills_from() and slot.name not in found:
                    found[slot.name] = entity.get("value")
        if asked is not None and asked.name not in found and asked.from_text is not None:
            value = asked.from_text(_bare_text(tracker))
            if value is not None:
                found[asked.name] = value
        self.derive(found, slots, entities, _bare_text(tracker))
        return found

    def _submitted(self, events: Events) -> Events:
        """What submit() returned; the form closes unless submit kept it open (the seat went
        to someone else between the confirmation and the booking: alternatives are offered)."""
        if any(e.get("event") == "active_loop" for e in events):
            return events
        return events + self._close()

    def _close(self) -> Events:
        return [
            *(SlotSet(s.name, None) for s in self.SLOTS),
            SlotSet(REQUESTED, None),
            ActiveLoop(None),
        ]


def _latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def _bare_text(tracker: Tracker) -> str:
    return _TRAILING.sub("", _latest_text(tracker).strip().lower())


def _intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def _is_yes(tracker: Tracker) -> bool:
    return is_yes(_latest_text(tracker)) or _intent(tracker) == "affirm"


def _is_no(tracker: Tracker) -> bool:
    return is_no(_latest_text(tracker)) or _intent(tracker) == "deny"


# -- validators shared by forms ------------------------------------------------------------

PAST_DATE = "{day}已经过去啦，换一天吧～"
CLOSED_DAY = "{day}图书馆闭馆{why}，换一天吧～"
OUTSIDE_HOURS = "{day}的开放时间是 {opens}–{closes}，请选这个时间内的时段～"
PAST_TIME = "现在已经 {now} 了，这个时间已经过去啦，请说一个晚一点的时间～"
END_BEFORE_START = "结束时间要晚于开始时间哦（{start} 开始），请再说一下几点结束～"


def open_day(action: FormAction, value: Any, slots: Mapping[str, Any]) -> str | None:
    """A date that is today or later and on which the library opens."""
    day = as_date(value)
    if day is None:
        return "没看懂这个日期，可以说「明天」「周四」或「12月1日」～"
    today = action.services.now().date()
    label = day_label(day, today)
    if day < today:
        return PAST_DATE.format(day=label)
    hours = action.services.calendar.hours_on(day)
    if not hours.is_open:
        why = f"（{hours.note}）" if hours.note else ""
        return CLOSED_DAY.format(day=label, why=why)
    return None


def within_opening_hours(action: FormAction, value: Any, slots: Mapping[str, Any]) -> str | None:
    """A start or end time inside the library's hours on the chosen date (if known), and an
    end after the start."""
    moment = as_time(value)
    if moment is None:
        return "没看懂这个时间，可以说「下午三点」或「15:30」～"
    start = as_time(slots.get("start_time"))
    end = as_time(slots.get("end_time"))
    if start is not None and end is not None and end <= start:
        return END_BEFORE_START.format(start=f"{start:%H:%M}")
    day = as_date(slots.get("date"))
    if day is None:
        return None
    now = action.services.now()
    is_end = moment == end
    if day == now.date() and not is_end and moment < now.time().replace(second=0, microsecond=0):
        return PAST_TIME.format(now=f"{now:%H:%M}")
    hours = action.services.calendar.hours_on(day)
    if not hours.is_open or hours.opens is None or hours.closes is None:
        return None  # the date's own check speaks about a closed day
    inside = (
        hours.opens < moment <= hours.closes if is_end else hours.opens <= moment < hours.closes
    )
    if inside:
        return None
    return OUTSIDE_HOURS.format(
        day=day_label(day, now.date()),
        opens=f"{hours.opens:%H:%M}",
        closes=f"{hours.closes:%H:%M}",
    )
