"""Opening hours: today, a named day, or the week, from the library's own calendar.

The calendar (handlers.library.calendar) knows the weekly schedule, closures, special days
and public holidays; this action only chooses what to say.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from handlers.kit.actions import Events, LibraryAction, as_date, entity_value
from handlers.kit.capability import Capability
from handlers.library import hours_text
from handlers.library.calendar import LibraryCalendar

WEEK_TITLE = "近7天开放时间："


class ActionOpeningHours(LibraryAction):
    NAME = "action_opening_hours"
    quick = True
    # The week's table changes once a day (or with a new calendar): worked out once, not on
    # every 「几点闭馆」. (calendar, day, text); replaced whole, so threads share it safely.
    _week: tuple[LibraryCalendar, date, str] | None = None

    def _week_text(self, calendar: LibraryCalendar, today: date) -> str:
        cached = self._week
        if cached is None or cached[0] is not calendar or cached[1] != today:
            cached = self._week = (calendar, today, hours_text.describe_week(calendar.week(today)))
        return cached[2]

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        calendar = self.services.calendar
        now = self.services.now()
        today = now.date()
        asked = as_date(entity_value(tracker, "date"))
        if asked is not None and asked != today:
            dispatcher.utter_message(text=hours_text.describe_day(calendar.hours_on(asked), today))
            return []
        lines = [
            hours_text.describe_now(calendar, now),
            "",
            WEEK_TITLE,
            self._week_text(calendar, today),
        ]
        dispatcher.utter_message(text="\n".join(lines))
        return []


CAPABILITY = Capability(
    name="opening_hours",
    actions=(ActionOpeningHours,),
    help=("开馆时间：如「今天几点闭馆」「周六开门吗」",),
)
