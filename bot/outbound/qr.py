"""Printable QR codes: scanning one in WeChat runs the action of its scene.

Capabilities say what to print (`Capability.qr`: a scene such as `seat:A001` or `room:T201`,
an id and a line for each label); this module makes the codes and bot/outbound/qr_sheets.py
draws them. What a printed code holds depends on the accounts:

- With a 公众号 (LIBBOT_MP_APPID and LIBBOT_MP_SECRET): a permanent parametric code made by
  WeChat (qrcode/create, QR_LIMIT_STR_SCENE), whose content is a weixin.qq.com URL. WeChat
  sends its scene with the SCAN or subscribe event. An account may have 100,000 permanent
  codes, ever, so each is kept in `qr_codes` and asked for once; later runs reuse it.
- Without one (WeCom only, the demo): the scene itself. WeCom's scan button (scancode_push,
  scancode_waitmsg) hands the bot whatever a code holds.

A reader may scan a 公众号 code with WeCom's scan button: the bot then gets the code's URL,
and the router asks `scene_for` for its scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.core.clock import isoformat
from bot.core.db import file_lock, sibling
from bot.core.errors import StaffError
from bot.outbound.api import API, WeChatError
from handlers.kit.capability import QRLabel
from handlers.kit.services import Services

if TYPE_CHECKING:  # the router imports this module; only `python -m bot qr` draws
    from bot.outbound.qr_sheets import Face

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


class QRError(StaffError):
    """`python -m bot qr` cannot go on; the message is the one line the librarian reads."""


def scene_for(db: Database, key: str) -> str:
    """The scene of a scanned 公众号 code's URL; any other key as it is."""
    if not key.startswith(("http://", "https://")):
        return key  # a scene already: no query for the usual scan
    row = db.execute("SELECT scene FROM qr_codes WHERE url = ?", [key]).fetchone()
    return str(row[0]) if row else key


# -- what each code holds --------------------------------------------------------------------


def contents(
    services: Services, labels: Sequence[QRLabel], mp: API | None
) -> tuple[dict[str, str], int]:
    """What each code holds (by scene), and how many codes WeChat made this run."""
    if mp is None:
        return {item.scene: item.scene for item in labels}, 0
    made = 0
    # One run at a time: two runs must not both ask WeChat for the same scene.
    with file_lock(sibling(services.settings.database, "qr-lock")):
        stored = dict(services.db().execute("SELECT scene, url FROM qr_codes").fetchall())
        for item in labels:
            if item.scene not in stored:
                stored[item.scene] = _create(services, mp, item.scene, made)
                made += 1
    return {item.scene: stored[item.scene] for item in labels}, made


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
    labels: Sequence[QRLabel],
    out: Path,
    formats: str,
    face: Face | None,
) -> str:
    """Make the codes and their labels; returns the summary line."""
    from bot.outbound.qr_sheets import write
    from bot.outbound.sender import build_apis

    mp, _ = build_apis(services)
    codes, made = contents(services, labels, mp)
    written = write(labels, codes, out, formats, face)
    if mp is not None:
        source = f"from the 公众号 ({made} new, {len(labels) - made} already stored)"
    else:
        source = "holding their scene strings (no 公众号 account; WeCom's scan button reads them)"
    where = []
    if written.pngs:
        where.append(f"{written.pngs} PNG in {out / 'png'}")
    if written.pdfs:
        where.append(f"{written.pdfs} PDF ({written.pages} A4 pages) in {out}")
    return f"{len(labels)} QR codes {source} → {'; '.join(where)}"
