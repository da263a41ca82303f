"""The handler contract: a rasa-sdk Action constructed with the bot's services.

`run(dispatcher, tracker, domain) -> events` is rasa-sdk's narrow contract, so the same
classes serve the in-process router and Rasa's action-server protocol (/actions/webhook).
A capability module declares one `Capability`: its actions, its tables' migrations, the QR
scene prefixes it claims, the forms it continues and the timed jobs it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import TYPE_CHECKING, Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    from bot.core.services import Services

Events = list[dict[str, Any]]


class LibraryAction(Action):
    """Base for Guanban's actions: a fixed NAME and the services to work with."""

    NAME: ClassVar[str]

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


@dataclass(frozen=True)
class Job:
    """Timed work, run by `python -m bot scheduler` (never by web workers): `run(services)`
    on an APScheduler trigger — "cron" with its fields (day_of_week="fri", hour=17), or
    "interval" (minutes=10). Ids are stable: the job store keeps them across restarts."""

    id: str
    run: Callable[[Services], None]
    trigger: str
    schedule: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capability:
    name: str
    actions: tuple[type[LibraryAction], ...]
    migrations: tuple[Migrations, ...] = ()
    # QR scene string prefix → action that handles a scan of it (e.g. "seat:" → check-in).
    scenes: Mapping[str, str] = field(default_factory=dict)
    # Form name → the action that continues it with the reader's next message.
    forms: Mapping[str, str] = field(default_factory=dict)
    # Lines for the help message: what a reader can ask this capability, with an example.
    help: tuple[str, ...] = ()
    # Timed work (reminders, newsletters, no-show release) for the scheduler.
    jobs: tuple[Job, ...] = ()
