"""What every handler is given: the database, the clock, the library's config.

Built once per app (or per command) and passed in; handlers never reach for globals.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.core.clock import Clock, system_clock
from bot.core.db import Databases
from bot.core.settings import Settings
from handlers.library.calendar import LibraryCalendar
from handlers.reservations.spaces import Spaces
from handlers.reservations.spaces import from_config as spaces_from_config


class LibraryConfigError(ValueError):
    """The library's TOML file is missing or malformed; the message names the file."""


@dataclass
class Services:
    settings: Settings
    library: Mapping[str, Any]
    calendar: LibraryCalendar
    databases: Databases
    clock: Clock = system_clock
    # The bookable spaces and their rules, parsed once at start-up so that a mistake in
    # [spaces] stops the bot with its place named, not a reader's booking later.
    spaces: Spaces = field(default_factory=lambda: spaces_from_config({}))

    def db(self) -> Database:
        """This thread's connection to the bot's database."""
        return self.databases.get()

    def now(self) -> datetime:
        return self.clock()


def load_library_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise LibraryConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise LibraryConfigError(f"{path}: {error}") from None


def build_services(settings: Settings, clock: Clock = system_clock) -> Services:
    path = settings.library_config_path()
    library = load_library_config(path)
    try:
        calendar = LibraryCalendar.from_config(library)
        spaces = spaces_from_config(library)
    except ValueError as error:  # SpacesConfigError is one
        raise LibraryConfigError(f"{path}: {error}") from None
    return Services(settings, library, calendar, Databases(settings.database), clock, spaces)
