"""The safety path: a reader whose words signal suicide or self-harm.

The intent layer's crisis check runs before everything else (inside a form too), and this
action answers it: warmth first, then people to talk to now — 24-hour hotlines, the campus
counselling centre from config, 110/120 in danger — and an urgent hand-off ticket so a
librarian on duty sees it within the hour. The reading-therapy capability adds its
counsellors on top; this answer never waits for them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

from handlers.kit.actions import Events, LibraryAction, reader_of
from handlers.kit.capability import Capability
from handlers.tickets import api as tickets

# Used when config/library.toml lists none; both answer around the clock, nationwide.
DEFAULT_HOTLINES = (
    ("全国心理援助热线", "12356"),
    ("希望24热线", "400-161-9995"),
)
URGENT_WITHIN = timedelta(hours=1)
TICKET_PREFIX = tickets.CRISIS_PREFIX  # how staff see it first, in red

OPENING = "谢谢你愿意告诉我。你现在的感受很重要，你不是一个人在面对。"
TALK_NOW = "现在就可以和专业的人聊聊（免费、保密）："
DANGER = "如果你现在有危险或已经伤害了自己，请立即拨打 120 或 110，或马上告诉身边的同学、辅导员。"
FOLLOW_UP = "我已请值班馆员尽快联系你（编号 {ref}）。你也可以继续在这里和我说说话。"
# A bot built without the tickets console: no librarian would see the ticket, so none is
# promised; the hotlines above are the help.
FOLLOW_UP_ALONE = "你也可以继续在这里和我说说话。"


class ActionCrisis(LibraryAction):
    NAME = "action_crisis"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        channel, user_id = reader_of(tracker)
        text = (tracker.latest_message.get("text") or "").strip()
        ref = tickets.create(
            self.services.db(),
            kind=tickets.HANDOFF,
            channel=channel,
            user_id=user_id,
            text=TICKET_PREFIX + text,
            now=self.services.now(),
            due_in=URGENT_WITHIN,
        )
        lines = [OPENING, TALK_NOW]
        lines += [f"· {name} {number}" for name, number in self._hotlines()]
        answered = tickets.answered(self.services)
        lines += [DANGER, FOLLOW_UP.format(ref=ref) if answered else FOLLOW_UP_ALONE]
        dispatcher.utter_message(text="\n".join(lines))
        # Whatever form was open (a booking, feedback) is dropped: it is not the moment.
        return [ActiveLoop(None), AllSlotsReset()]

    def _hotlines(self) -> list[tuple[str, str]]:
        # Read defensively: a typo in the config must never cost a reader in crisis the
        # numbers, so a malformed entry is skipped and the defaults stand in for none.
        safety = self.services.library.get("safety", {})
        entries = [safety.get("counselling_centre"), *safety.get("hotlines", [])]
        configured = [
            (str(e["name"]), str(e["phone"]))
            for e in entries
            if isinstance(e, dict) and e.get("name") and e.get("phone")
        ]
        return configured or list(DEFAULT_HOTLINES)


CAPABILITY = Capability(
    name="crisis",
    actions=(ActionCrisis,),
    migrations=(tickets.migrations,),
)
