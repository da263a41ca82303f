"""Hand-off to a human librarian: a ticket, and an honest word about when they answer.

The reader's words after 「转人工」 go into the same ticket (a one-question form), and a
second 「转人工」 within the hour adds to the open ticket instead of opening another.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from handlers.kit.actions import Events, LibraryAction, reader_of
from handlers.kit.capability import HANDOFF_ACTION
from handlers.tickets import store as tickets

FORM = "handoff_form"
SLOT = "handoff_question"
REUSE_WITHIN = timedelta(hours=1)

ON_DUTY = "已为你转接馆员（编号 {ref}），值班馆员会尽快在这里回复你。"
OFF_DUTY = (
    "已为你登记（编号 {ref}）。现在不是馆员在线值班时间，{next}会有馆员回复你；值班时间：{duty}。"
)
NO_DUTY_SOON = "已为你登记（编号 {ref}），馆员会在 {hours} 小时内回复你。"
ASK_QUESTION = "请直接描述你的问题，我会一并转给馆员～"
RECEIVED = "收到，已补充到你的工单 {ref}，馆员会一起看到。"
PHONE = "着急的话也可以拨打 {phone}。"
# Punctuation after the words too: 「转人工！」 has no question, not the question "！".
TRIGGER = re.compile(
    r"^(我(想|要)?)?(转人工|人工客服|人工服务|找馆员|联系馆员|人工)[,，:：。.!！?？~～\s]*"
)
WEEKDAY_NAMES = "一二三四五六日"


class ActionHuman(LibraryAction):
    NAME = HANDOFF_ACTION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        db, now = self.services.db(), self.services.now()
        channel, user_id = reader_of(tracker)
        text = (tracker.latest_message.get("text") or "").strip()
        question = TRIGGER.sub("", text).strip()
        # A bare 「转人工」 again while the form waits is no question: answer it as a
        # hand-off (reusing the ticket) instead of adding "转人工" to the ticket.
        if tracker.active_loop_name == FORM and question:
            ref = tracker.get_slot("handoff_ref")
            ticket = tickets.get(db, ref) if ref else None
            if ticket and ticket["status"] == "open":
                tickets.append(db, ref, text, now)
                dispatcher.utter_message(text=RECEIVED.format(ref=ref))
                return [SlotSet("requested_slot", None), ActiveLoop(None)]
        existing = tickets.recent_open(
            db, tickets.HANDOFF, channel, user_id, since=now - REUSE_WITHIN
        )
        if existing:
            ref = existing["ref"]
            if question:
                tickets.append(db, ref, question, now)
        else:
            ref = tickets.create(
                db,
                kind=tickets.HANDOFF,
                channel=channel,
                user_id=user_id,
                text=question,
                now=now,
                due_in=timedelta(hours=self._answer_hours()),
            )
        lines = [self._availability(ref, now)]
        phone = self.services.library.get("library", {}).get("phone")
        if phone:
            lines.append(PHONE.format(phone=phone))
        if question:
            dispatcher.utter_message(text="\n".join(lines))
            return [SlotSet("handoff_ref", ref)]
        lines.append(ASK_QUESTION)
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("handoff_ref", ref), ActiveLoop(FORM), SlotSet("requested_slot", SLOT)]

    def _answer_hours(self) -> int:
        return int(self.services.library.get("handoff", {}).get("answer_within_hours", 24))

    def _availability(self, ref: str, now: datetime) -> str:
        calendar = self.services.calendar
        if calendar.on_duty(now):
            return ON_DUTY.format(ref=ref)
        start = calendar.next_duty_start(now)
        if start is None:
            return NO_DUTY_SOON.format(ref=ref, hours=self._answer_hours())
        return OFF_DUTY.format(ref=ref, next=_when(start, now), duty=self._duty_words())

    def _duty_words(self) -> str:
        handoff = self.services.library.get("handoff", {})
        words = f"工作日 {handoff.get('duty', '08:00-17:30')}"
        weekend = handoff.get("weekend_duty", "closed")
        if weekend != "closed":
            words += f"，周末 {weekend}"
        return words


def _when(moment: datetime, now: datetime) -> str:
    days = (moment.date() - now.date()).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(days)
    if day is None:
        day = f"{moment.month}月{moment.day}日（周{WEEKDAY_NAMES[moment.weekday()]}）"
    return f"{day} {moment:%H:%M} 起"
