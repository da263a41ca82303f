"""The check-in codes of seats and rooms, for `python -m bot qr` (bot/outbound/qr.py makes
and prints them): `seat:<ID>` for a seat, `room:<ID>` for every other type; the check-in
action claims both prefixes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bot.core.errors import StaffError
from handlers.kit.capability import QRCodes, QRLabel
from handlers.kit.services import Services
from handlers.reservations.spaces import TYPES, Space, Spaces, spaces_of

SEAT_SCENE = "seat:"
ROOM_SCENE = "room:"


def scene_of(space: Space) -> str:
    return (SEAT_SCENE if space.type == "seat" else ROOM_SCENE) + space.id


def select(spaces: Spaces, kind: str | None, zone: str | None, only: Sequence[str]) -> list[Space]:
    """The spaces asked for, in the config's order."""
    chosen = list(spaces.spaces.values())
    if only:
        unknown = [space_id for space_id in only if spaces.get(space_id) is None]
        if unknown:
            raise StaffError(f"--only: no space {', '.join(unknown)} in the library config")
        wanted = {space.id for space in map(spaces.get, only) if space is not None}
        chosen = [space for space in chosen if space.id in wanted]
    if zone is not None:
        if zone not in spaces.zones:
            raise StaffError(f"--zone: no zone {zone!r}; the zones are {', '.join(spaces.zones)}")
        chosen = [space for space in chosen if space.zone == zone]
    if kind is not None:
        chosen = [space for space in chosen if space.type == kind]
    if not chosen:
        raise StaffError("no space matches --type, --zone and --only together")
    return chosen


def label_of(space: Space, zone_name: str) -> QRLabel:
    """Seats are printed by zone (a hall is walked at once), other spaces by type."""
    title = f"{space.name} · {zone_name}" if zone_name else space.name
    sheet = space.zone if space.type == "seat" else space.type
    return QRLabel(space.id, scene_of(space), title, sheet)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", choices=TYPES)
    parser.add_argument("--zone", help="only this zone's spaces (a zone id, e.g. K3)")
    parser.add_argument("--only", default="", help="only these spaces: ids, comma-separated")


def labels(services: Services, args: argparse.Namespace) -> list[QRLabel]:
    spaces = spaces_of(services)
    only = [space_id.strip() for space_id in args.only.split(",") if space_id.strip()]
    zones = {zone_id: zone.name for zone_id, zone in spaces.zones.items()}
    chosen = select(spaces, args.type, args.zone, only)
    return [label_of(space, zones.get(space.zone, "")) for space in chosen]


CODES = QRCodes(arguments=arguments, labels=labels)
