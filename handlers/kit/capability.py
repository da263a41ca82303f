"""What a capability is: one `Capability` value, with a hook for each part of the bot it
takes part in. Every hook is optional; `handlers/registry.py` lists the capabilities and
the app factory, the console shell, the CLI, the demo and the scheduler gather from it.

A hook is a plain value or a function of the services, so a capability never imports the
parts that call it (see docs/architecture.md, "How to add a capability").
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlite_utils.migrations import Migrations

from handlers.kit.actions import LibraryAction

if TYPE_CHECKING:
    from handlers.kit.console import Plugin
    from handlers.kit.services import Services


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
class Command:
    """A `python -m bot <name>` command: `arguments` adds its flags to the parser, `run`
    does the work with the services of the settings in force and returns the exit status.
    bot/__main__.py migrates the database first; a StaffError from `run` is printed as the
    one line the librarian reads (exit status 1). A name the shell or another capability
    has already taken stops every command line with both named."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Services, argparse.Namespace], int]


@dataclass(frozen=True)
class QRLabel:
    """One printable code: what it holds (`scene`, e.g. "seat:A001"), the id printed on it,
    the line under the id, and the sheet (PDF file) it is printed on."""

    id: str
    scene: str
    title: str
    sheet: str


@dataclass(frozen=True)
class QRCodes:
    """The codes a capability prints with `python -m bot qr`: `arguments` adds its filter
    flags, `labels` returns what to print for them (StaffError when a filter is wrong)."""

    arguments: Callable[[argparse.ArgumentParser], None]
    labels: Callable[[Services, argparse.Namespace], Sequence[QRLabel]]


@dataclass(frozen=True)
class Reader:
    """Who a hook is asked about: a reader is one channel and its user id."""

    channel: str
    user_id: str


@dataclass(frozen=True)
class NewsItem:
    """A line a capability offers a reader's weekly newsletter."""

    title: str
    text: str = ""
    url: str = ""


# What 「转人工」 runs, whichever capability declares it (handlers.tickets): the router runs it,
# and the words offer 「转人工」 only in a build that has it.
HANDOFF_ACTION = "action_human"


@dataclass(frozen=True)
class Capability:
    name: str
    actions: tuple[type[LibraryAction], ...] = ()
    migrations: tuple[Migrations, ...] = ()
    # QR scene string prefix → action that handles a scan of it (e.g. "seat:" → check-in).
    scenes: Mapping[str, str] = field(default_factory=dict)
    # Form name → the action that continues it with the reader's next message.
    forms: Mapping[str, str] = field(default_factory=dict)
    # Lines for the help message: what a reader can ask this capability, with an example.
    help: tuple[str, ...] = ()
    # Timed work (reminders, newsletters, no-show release) for the scheduler.
    jobs: tuple[Job, ...] = ()
    # Reads and checks its part of the library config once at start-up; raises ValueError
    # (with the key) so a mistake stops the bot with its place named.
    configure: Callable[[Services], None] | None = None
    # Its staff pages, API endpoints, navigation and dashboard cards (a function, so that
    # only the web app imports Flask for them).
    console: Callable[[], Sequence[Plugin]] | None = None
    # `python -m bot <command>` commands.
    commands: tuple[Command, ...] = ()
    # Printable codes for `python -m bot qr`.
    qr: QRCodes | None = None
    # Demo data for `make run`; returns a line for the banner ("" for none), once only.
    demo: Callable[[Services], str] | None = None
    # What it holds about one reader (the reader profile page, later the reader's export):
    # named lists of rows.
    reader_data: Callable[[Services, Reader], Mapping[str, Sequence[Mapping[str, Any]]]] | None = (
        None
    )
    # Removes what it holds about one reader; returns how many rows went.
    forget: Callable[[Services, Reader], int] | None = None
    # What it adds to a reader's weekly newsletter for the week starting on a Monday.
    newsletter_items: Callable[[Services, Reader, date], Sequence[NewsItem]] | None = None
    # True while this capability needs the reader heard whatever else holds: a ban does not
    # silence a reader whose crisis hand-off is open.
    keeps_reader_heard: Callable[[Services, Reader], bool] | None = None
    # Deletes its own rows that are no longer needed (the nightly housekeeping asks).
    prune: Callable[[Services], int] | None = None
