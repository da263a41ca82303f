"""The library's bookable spaces and their rules, from [spaces] in config/library.toml.

Four types: `seat` (the exam-prep hall's numbered seats, with features such as a power socket
or a window), `discussion_room` (capacity, minimum group, equipment), `cinema` (the 3D cinema)
and `research_room` (teachers only). Each type has its rules: who may book, how many days
ahead, when the next days open for booking (e.g. 06:00), the slot size, the shortest and
longest booking, limits per day and week, the check-in window and 暂离 (stepping out).

Seats are declared in ranges (`prefix`, `from`, `to`) so a 1000-seat hall is a few lines.
A config mistake is reported with its place, at start-up, never at a reader's booking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from typing import Any

TYPES = ("seat", "discussion_room", "cinema", "research_room")
TYPE_NAMES = {
    "seat": "座位",
    "discussion_room": "研讨间",
    "cinema": "3D影院",
    "research_room": "研修室",
}


class SpacesConfigError(ValueError):
    """[spaces] in the library's TOML cannot be used; the message names the place."""


@dataclass(frozen=True)
class Rules:
    who: tuple[str, ...] = ("student", "teacher")
    days_ahead: int = 1
    release_time: time = time(6, 0)
    slot_minutes: int = 30
    min_minutes: int = 30
    max_minutes: int = 240
    per_day: int = 2
    per_week: int = 10
    check_in_before: int = 10
    check_in_after: int = 15
    step_out_minutes: int = 30
    meal_step_out_minutes: int = 60
    meal_windows: tuple[tuple[time, time], ...] = (
        (time(11, 0), time(13, 0)),
        (time(17, 0), time(19, 0)),
    )


@dataclass(frozen=True)
class Space:
    id: str
    type: str
    name: str
    zone: str
    floor: int
    capacity: int = 1
    min_group: int = 1
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    floor: int


@dataclass(frozen=True)
class Policy:
    """Violations: `limit` within `window_days` suspend booking for `suspend_days`."""

    limit: int = 3
    window_days: int = 30
    suspend_days: int = 7


@dataclass(frozen=True)
class Reminders:
    """Minutes before the start a reminder goes out, and before the check-in window closes
    a warning does."""

    before_start: int = 15
    check_in_warning: int = 5


@dataclass(frozen=True)
class Spaces:
    zones: Mapping[str, Zone]
    spaces: Mapping[str, Space]
    rules: Mapping[str, Rules]
    policy: Policy = field(default_factory=Policy)
    reminders: Reminders = field(default_factory=Reminders)

    def of_type(self, kind: str) -> tuple[Space, ...]:
        """The spaces of one type, in config order (read for every booking request)."""
        return self._by_type.get(kind, ())

    @cached_property
    def _by_type(self) -> dict[str, tuple[Space, ...]]:
        found: dict[str, list[Space]] = {}
        for space in self.spaces.values():
            found.setdefault(space.type, []).append(space)
        return {kind: tuple(spaces) for kind, spaces in found.items()}

    def get(self, space_id: str) -> Space | None:
        return self.spaces.get(space_id.upper()) or self.spaces.get(space_id)


def _time(value: Any, where: str) -> time:
    try:
        hour, minute = str(value).split(":")
        return time(int(hour), int(minute))
    except (ValueError, TypeError):
        raise SpacesConfigError(f'{where}: expected a time "HH:MM", got {value!r}') from None


def _int(entry: Mapping[str, Any], key: str, where: str, default: int, low: int = 0) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise SpacesConfigError(f"{where}.{key}: expected a whole number ≥ {low}, got {value!r}")
    return value


def _rules(entry: Mapping[str, Any], where: str) -> Rules:
    base = Rules()
    windows = base.meal_windows
    if "meal_windows" in entry:
        windows = tuple(
            (_time(w.split("-")[0], where), _time(w.split("-")[1], where))
            for w in entry["meal_windows"]
        )
    who = tuple(entry.get("who", base.who))
    rules = Rules(
        who=who,
        days_ahead=_int(entry, "days_ahead", where, base.days_ahead),
        release_time=_time(entry.get("release_time", "06:00"), f"{where}.release_time"),
        slot_minutes=_int(entry, "slot_minutes", where, base.slot_minutes, 5),
        min_minutes=_int(entry, "min_minutes", where, base.min_minutes, 5),
        max_minutes=_int(entry, "max_minutes", where, base.max_minutes, 5),
        per_day=_int(entry, "per_day", where, base.per_day, 1),
        per_week=_int(entry, "per_week", where, base.per_week, 1),
        check_in_before=_int(entry, "check_in_before", where, base.check_in_before),
        check_in_after=_int(entry, "check_in_after", where, base.check_in_after, 1),
        step_out_minutes=_int(entry, "step_out_minutes", where, base.step_out_minutes, 1),
        meal_step_out_minutes=_int(
            entry, "meal_step_out_minutes", where, base.meal_step_out_minutes, 1
        ),
        meal_windows=windows,
    )
    if 60 % rules.slot_minutes and rules.slot_minutes % 60:
        raise SpacesConfigError(f"{where}.slot_minutes: must divide an hour (or be whole hours)")
    if rules.min_minutes % rules.slot_minutes or rules.max_minutes % rules.slot_minutes:
        raise SpacesConfigError(f"{where}: min/max_minutes must be whole slots")
    if rules.min_minutes > rules.max_minutes:
        raise SpacesConfigError(f"{where}: min_minutes is more than max_minutes")
    return rules


def from_config(library: Mapping[str, Any]) -> Spaces:
    config = library.get("spaces") or {}
    zones = {}
    for n, entry in enumerate(config.get("zones", [])):
        where = f"[[spaces.zones]] #{n + 1}"
        if "id" not in entry or "name" not in entry:
            raise SpacesConfigError(f"{where}: needs id and name")
        zones[str(entry["id"])] = Zone(
            str(entry["id"]), str(entry["name"]), int(entry.get("floor", 1))
        )
    spaces: dict[str, Space] = {}

    def add(space: Space, where: str) -> None:
        if space.zone not in zones:
            raise SpacesConfigError(f"{where}: unknown zone {space.zone!r}")
        if space.id in spaces:
            raise SpacesConfigError(f"{where}: {space.id} is declared twice")
        spaces[space.id] = space

    for n, entry in enumerate(config.get("seats", [])):
        where = f"[[spaces.seats]] #{n + 1}"
        prefix, first, last = str(entry.get("prefix", "")), entry.get("from"), entry.get("to")
        if not prefix or not isinstance(first, int) or not isinstance(last, int) or first > last:
            raise SpacesConfigError(f"{where}: needs prefix, and from ≤ to")
        width = len(str(last))
        features = tuple(entry.get("features", ()))
        window = set(entry.get("window", ()))
        zone = str(entry.get("zone", ""))
        floor = zones[zone].floor if zone in zones else 1
        for number in range(first, last + 1):
            extra = ("window",) if number in window else ()
            seat_id = f"{prefix}{number:0{width}d}"
            add(
                Space(seat_id, "seat", f"{seat_id} 号座", zone, floor, features=features + extra),
                where,
            )
    for kind, key in (
        ("discussion_room", "rooms"),
        ("cinema", "cinema"),
        ("research_room", "research_rooms"),
    ):
        for n, entry in enumerate(config.get(key, [])):
            where = f"[[spaces.{key}]] #{n + 1}"
            if "id" not in entry or "name" not in entry:
                raise SpacesConfigError(f"{where}: needs id and name")
            zone = str(entry.get("zone", ""))
            add(
                Space(
                    str(entry["id"]).upper(),
                    kind,
                    str(entry["name"]),
                    zone,
                    zones[zone].floor if zone in zones else 1,
                    capacity=_int(entry, "capacity", where, 1, 1),
                    min_group=_int(entry, "min_group", where, 1, 1),
                    features=tuple(entry.get("equipment", entry.get("features", ()))),
                ),
                where,
            )
    rules = {
        kind: _rules((config.get("rules") or {}).get(kind, {}), f"[spaces.rules.{kind}]")
        for kind in TYPES
    }
    policy_entry = config.get("violations") or {}
    policy = Policy(
        limit=_int(policy_entry, "limit", "[spaces.violations]", 3, 1),
        window_days=_int(policy_entry, "window_days", "[spaces.violations]", 30, 1),
        suspend_days=_int(policy_entry, "suspend_days", "[spaces.violations]", 7, 1),
    )
    reminder_entry = config.get("reminders") or {}
    reminders = Reminders(
        before_start=_int(reminder_entry, "before_start", "[spaces.reminders]", 15, 1),
        check_in_warning=_int(reminder_entry, "check_in_warning", "[spaces.reminders]", 5, 1),
    )
    return Spaces(zones, spaces, rules, policy, reminders)
