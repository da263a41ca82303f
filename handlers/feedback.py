"""Feedback: complaints and suggestions, stored as tickets with a reference number.

「反馈：三楼空调太冷」 is stored at once; 「我要反馈」 opens a one-question form and the next
message is the feedback.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core.errors import UserFacingError
from handlers.kit.actions import Events, LibraryAction, reader_of
from handlers.kit.capability import Capability
from handlers.tickets import api as tickets

FORM = "feedback_form"
SLOT = "feedback_text"
ASK = "请说说你的意见或建议（一条消息即可），我会转给负责的馆员～ 发送「取消」可放弃。"
THANKS = "谢谢你的反馈🙏 已记录，编号 {ref}。馆员会在 {hours} 小时内处理，有进展会在这里告诉你。"
# A bot built without the tickets console: recorded, but no librarian's answer is promised.
THANKS_ALONE = "谢谢你的反馈🙏 已记录，编号 {ref}。"
TOO_SHORT = "内容有点短，能再具体说说吗？比如在哪里、什么情况～"
# The words that only say "I want to give feedback"; what remains is the feedback itself.
TRIGGER = re.compile(
    r"^(我(想|要)?)?(提|给|有)?(个|点|一些|一条)?(反馈|投诉|建议|意见|吐槽)[一下个]*[:：,，\s]*"
)
MIN_LENGTH = 4


class ActionFeedback(LibraryAction):
    NAME = "action_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        text = (tracker.latest_message.get("text") or "").strip()
        in_form = tracker.active_loop_name == FORM
        content = text if in_form else TRIGGER.sub("", text).strip()
        if len(content) < MIN_LENGTH:
            if in_form:
                raise UserFacingError(TOO_SHORT)
            dispatcher.utter_message(text=ASK)
            return [ActiveLoop(FORM), SlotSet("requested_slot", SLOT)]
        channel, user_id = reader_of(tracker)
        hours = int(self.services.library.get("handoff", {}).get("answer_within_hours", 24))
        ref = tickets.create(
            self.services.db(),
            kind=tickets.FEEDBACK,
            channel=channel,
            user_id=user_id,
            text=content,
            now=self.services.now(),
            due_in=timedelta(hours=hours),
        )
        thanks = THANKS if tickets.answered(self.services) else THANKS_ALONE
        dispatcher.utter_message(text=thanks.format(ref=ref, hours=hours))
        return [SlotSet(SLOT, None), SlotSet("requested_slot", None), ActiveLoop(None)]


CAPABILITY = Capability(
    name="feedback",
    actions=(ActionFeedback,),
    migrations=(tickets.migrations,),
    forms={FORM: ActionFeedback.NAME},
    help=("意见反馈：如「反馈：三楼自习室空调太冷」",),
)
