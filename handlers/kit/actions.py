"""The handler contract: a rasa-sdk Action constructed with the bot's services.

`run(dispatcher, tracker, domain) -> events` is rasa-sdk's narrow contract, so the same
classes serve the in-process router and Rasa's action-server protocol (/actions/webhook).
A capability declares its actions in its `Capability` (handlers.kit.capability).
"""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

if TYPE_CHECKING:
    from handlers.kit.services import Services

Events = list[dict[str, Any]]


class LibraryAction(Action):
    """Base for Guanban's actions: a fixed NAME and the services to work with."""

    NAME: ClassVar[str]
    # True for an action that only reads memory and a row or two and never waits on anything
    # outside the process: the pipeline then runs it in the request's own thread, saving the
    # hop to its handler pool (see bot.wechat.pipeline). Leave it False when unsure: a slow
    # action run inline could miss WeChat's 5-second deadline instead of getting a holding
    # reply.
    quick: ClassVar[bool] = False

    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return self.NAME

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        raise NotImplementedError


def reader_of(tracker: Tracker) -> tuple[str, str]:
    """(channel, user id) of the conversation: sender ids are "channel:user".

    A Rasa server of the library's own may use bare ids; those count as channel "rasa".
    """
    channel, separator, user_id = tracker.sender_id.partition(":")
    if not separator:
        return "rasa", tracker.sender_id
    return channel, user_id


def entity_value(tracker: Tracker, name: str) -> Any:
    """The first value of entity `name` in the latest message, or None."""
    return next(tracker.get_latest_entity_values(name), None)


def as_date(value: Any) -> date | None:
    """A `date` entity or slot value ("YYYY-MM-DD") as a date; None when absent or not one
    (a Rasa server of the library's own may send other shapes)."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def as_time(value: Any) -> time | None:
    """A `start_time`/`end_time` value ("HH:MM") as a time; None when absent or not one."""
    try:
        return time.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
