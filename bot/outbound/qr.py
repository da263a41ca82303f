"""QR codes for seats and rooms: scanning one in WeChat checks its holder in.

Every space has a scene: `seat:<ID>` for a seat, `room:<ID>` for every other type; the
check-in action claims both prefixes. What a printed code holds depends on the accounts:

- With a 公众号 (LIBBOT_MP_APPID and LIBBOT_MP_SECRET): a permanent parametric code made by
  WeChat (qrcode/create, QR_LIMIT_STR_SCENE), whose content is a weixin.qq.com URL. WeChat
  sends its scene with the SCAN or subscribe event. An account may have 100,000 permanent
  codes, ever, so each is kept in `qr_codes` and asked for once; later runs reuse it.
- Without one (WeCom only, the demo): the scene itself. WeCom's scan button (scancode_push,
  scancode_waitmsg) hands the bot whatever a code holds.

A reader may scan a 公众号 code with WeCom's scan button: the bot then gets the code's URL,
and the router asks `scene_for` for its scene.

`python -m bot qr` makes them; bot/qr_sheets.py draws the labels and sheets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat
from bot.core.db import file_lock, sibling
from bot.core.services import Services
from bot.outbound.api import API, WeChatError
from handlers.reservations.spaces import Space, Spaces

if TYPE_CHECKING:  # the router imports this module; only `python -m bot qr` draws
    from bot.outbound.qr_sheets import Face

SEAT_SCENE = "seat:"
ROOM_SCENE = "room:"
CREATE = "/cgi-bin/qrcode/create"

migrations = Migrations("qr_codes")


@migrations()
def create_qr_codes(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE qr_codes (
            scene TEXT PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            ticket TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )


class QRError(Exception):
    """`python -m bot qr` cannot go on; the message is the one line the librarian reads."""


def scene_of(space: Space) -> str:
    return (SEAT_SCENE if space.type == "seat" else ROOM_SCENE) + space.id


def scene_for(db: Database, key: str) -> str:
    """The scene of a scanned 公众号 code's URL; any other key as it is."""
    if not key.startswith(("http://", "https://")):
        return key  # a scene already: no query for the usual scan
    row = db.execute("SELECT scene FROM qr_codes WHERE url = ?", [key]).fetchone()
    return str(row[0]) if row else key


def select(spaces: Spaces, kind: str | None, zone: str | None, only: Sequence[str]) -> list[Space]:
    """The spaces asked for, in the config's order."""
    chosen = list(spaces.spaces.values())
    if only:
        unknown = [space_id for space_id in only if spaces.get(space_id) is None]
        if unknown:
            raise QRError(f"--only: no space {', '.join(unknown)} in the library config")
        wanted = {space.id for space in map(spaces.get, only) if space is not None}
        chosen = [space for space in chosen if space.id in wanted]
    if zone is not None:
        if zone not in spaces.zones:
            raise QRError(f"--zone: no zone {zone!r}; the zones are {', '.join(spaces.zones)}")
        chosen = [space for space in chosen if space.zone == zone]
    if kind is not None:
        chosen = [space for space in chosen if space.type == kind]
    if not chosen:
        raise QRError("no space matches --type, --zone and --only together")
    return chosen


# -- what each code holds --------------------------------------------------------------------


def contents(
    services: Services, spaces: Sequence[Space], mp: API | None
) -> tuple[dict[str, str], int]:
    """What each space's code holds (by space id), and how many codes WeChat made this run."""
    if mp is None:
        return {space.id: scene_of(space) for space in spaces}, 0
    made = 0
    # One run at a time: two runs must not both ask WeChat for the same scene.
    with file_lock(sibling(services.settings.database, "qr-lock")):
        stored = dict(services.db().execute("SELECT scene, url FROM qr_codes").fetchall())
        for space in spaces:
            scene = scene_of(space)
            if scene not in stored:
                stored[scene] = _create(services, mp, scene, made)
                made += 1
    return {space.id: stored[scene_of(space)] for space in spaces}, made


def _create(services: Services, mp: API, scene: str, made: int) -> str:
    """A permanent code for `scene`, stored the moment WeChat has made it."""
    body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
    kept = f"{made} made before it in this run are stored" if made else "none made in this run"
    try:
        answer = mp.post(CREATE, body)
    except WeChatError as error:
        raise QRError(f"WeChat did not make the QR code for {scene}: {error} ({kept})") from None
    url, ticket = answer.get("url"), answer.get("ticket")
    if not (isinstance(url, str) and url and isinstance(ticket, str) and ticket):
        raise QRError(f"WeChat's answer for {scene} has no url and ticket ({kept})")
    # Autocommit: kept whatever happens to the codes after it.
    services.db().execute(
        "INSERT INTO qr_codes (scene, url, ticket, created_at) VALUES (?, ?, ?, ?)",
        [scene, url, ticket, isoformat(services.now())],
    )
    return url


# -- the command -----------------------------------------------------------------------------


def make_codes(
    services: Services,
    out: Path,
    formats: str,
    kind: str | None,
    zone: str | None,
    only: Sequence[str],
    face: Face | None,
) -> str:
    """Make the codes and their labels; returns the summary line."""
    from bot.outbound.qr_sheets import write
    from bot.outbound.sender import build_apis

    spaces = select(services.spaces, kind, zone, only)
    mp, _ = build_apis(services)
    codes, made = contents(services, spaces, mp)
    zones = {zone_id: z.name for zone_id, z in services.spaces.zones.items()}
    written = write(spaces, zones, codes, out, formats, face)
    if mp is not None:
        source = f"from the 公众号 ({made} new, {len(spaces) - made} already stored)"
    else:
        source = "holding their scene strings (no 公众号 account; WeCom's scan button reads them)"
    where = []
    if written.pngs:
        where.append(f"{written.pngs} PNG in {out / 'png'}")
    if written.pdfs:
        where.append(f"{written.pdfs} PDF ({written.pages} A4 pages) in {out}")
    return f"{len(spaces)} QR codes {source} → {'; '.join(where)}"
