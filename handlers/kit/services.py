"""What every handler is given: the database, the clock, the library's config and calendar,
and the capabilities the bot was built with.

Built once per app (or per command) and passed in; handlers never reach for globals. A
capability keeps what it parses from the config in `parts` (see `part`), so the services
name no capability.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from bot.core.clock import Clock, system_clock
from bot.core.db import Databases
from bot.core.settings import Settings
from handlers.library.calendar import LibraryCalendar

if TYPE_CHECKING:
    from handlers.kit.capability import Capability

T = TypeVar("T")


class LibraryConfigError(ValueError):
    """The library's TOML file is missing or malformed; the message names the file."""


@dataclass
class Services:
    settings: Settings
    library: Mapping[str, Any]
    calendar: LibraryCalendar
    databases: Databases
    clock: Clock = system_clock
    capabilities: tuple[Capability, ...] = ()
    # What capabilities parsed from the library config, by a key of their own.
    parts: dict[str, Any] = field(default_factory=dict)

    def db(self) -> Database:
        """This thread's connection to the bot's database."""
        return self.databases.get()

    def now(self) -> datetime:
        return self.clock()

    def part(self, key: str, build: Callable[[Mapping[str, Any]], T]) -> T:
        """What `build` makes of the library config, made once (at start-up, by the
        capability's `configure`) and kept."""
        if key not in self.parts:
            self.parts[key] = build(self.library)
        return self.parts[key]  # type: ignore[no-any-return]


def load_library_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise LibraryConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise LibraryConfigError(f"{path}: {error}") from None


def build_services(
    settings: Settings,
    clock: Clock = system_clock,
    capabilities: Iterable[Capability] = (),
) -> Services:
    """The services for these capabilities, each of which has read and checked its part of
    the config: a mistake stops here with the file named. (Built without capabilities, a
    capability's part is read when first asked for.)"""
    path = settings.library_config_path()
    library = load_library_config(path)
    try:
        calendar = LibraryCalendar.from_config(library)
        services = Services(
            settings, library, calendar, Databases(settings.database), clock, tuple(capabilities)
        )
        for capability in services.capabilities:
            if capability.configure is not None:
                capability.configure(services)
    except ValueError as error:  # a capability's config error names its key
        raise LibraryConfigError(f"{path}: {error}") from None
    return services
