"""Printable check-in labels: one PNG per space and A4 PDF sheets (see bot/qr.py).

A label is the code (segno; never a Micro QR, which WeChat cannot read; error correction M
or better; a four-module quiet zone), then the space's id in large figures, its name and
zone, and 「微信扫码签到」. Labels are drawn with Pillow at 300 dpi and kept bilevel, as
print is: edges stay sharp and PDF pages are stored losslessly (CCITT G4). Seats are printed
by zone (a hall is walked at once), other spaces by type, 12 labels to a page with dashed
lines to cut along. Pillow writes each page as a one-page PDF and pypdf gathers them, so a
1,000-seat hall never holds more than one raster page in memory.

Chinese needs a font with its glyphs; without one the label shows the id only, in ASCII.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

from handlers.reservations.spaces import Space

INSTRUCTION = "微信扫码签到"
DPI = 300
A4 = (2480, 3508)  # 210 × 297 mm
MARGIN = 118  # 10 mm
COLUMNS, ROWS = 3, 4
CELL = ((A4[0] - 2 * MARGIN) // COLUMNS, (A4[1] - 2 * MARGIN) // ROWS)  # 63 × 69 mm
QR_TOP = 30
QR_SIDE = 500  # px at most, quiet zone included: about 42 mm, read by phones from 30 cm on
QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks
# Label lines: (top, font size, stroke width), in px. 110 px: figures about 9 mm tall.
ID_LINE, NAME_LINE, HINT_LINE = (530, 110, 2), (684, 44, 0), (750, 44, 0)
TEXT_WIDTH = CELL[0] - 60
DASH = 18

FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
)
FONT_FILES = ("NotoSansCJK*", "NotoSansSC*", "SourceHanSans*", "wqy-*", "PingFang*", "STHeiti*")
SIMPLIFIED = re.compile(r"\b(SC|CN|GB)\b|Hans|WenQuanYi|PingFang SC")
UNSAFE_IN_FILE_NAMES = re.compile(r"[^\w.-]")


# -- fonts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    path: str
    index: int  # the face within a .ttc collection
    name: str  # family and style


def find_cjk_font() -> Face | None:
    """A font with Chinese glyphs (fontconfig's list, else well-known files): a simplified
    Chinese sans-serif regular face if there is one."""
    faces = _fontconfig_faces() or _known_faces()

    def rank(face: Face) -> tuple[bool, bool, bool, str]:
        sans = "Sans" in face.name and not re.search("Serif|Mono", face.name)
        return (not sans, not SIMPLIFIED.search(face.name), "Regular" not in face.name, face.name)

    return min(faces, key=rank, default=None)


def _fontconfig_faces() -> list[Face]:
    if shutil.which("fc-list") is None:
        return []
    listing = subprocess.run(
        ["fc-list", ":lang=zh", "--format", "%{file}\t%{index}\t%{family} %{style}\n"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    faces = []
    for line in listing.splitlines():
        path, index, name = (*line.split("\t"), "", "")[:3]
        if path.lower().endswith((".ttf", ".ttc", ".otf", ".otc")) and index.isdigit():
            faces.append(Face(path, int(index), name))
    return faces


def _known_faces() -> list[Face]:
    faces = []
    for folder in (Path(name) for name in FONT_DIRS if Path(name).is_dir()):
        for path in sorted(p for pattern in FONT_FILES for p in folder.rglob(pattern)):
            for index in range(16):  # a collection's faces, until there are no more
                try:
                    family, style = ImageFont.truetype(str(path), 12, index=index).getname()
                except OSError:
                    break
                faces.append(Face(str(path), index, f"{family} {style}"))
    return faces


@lru_cache(maxsize=32)
def _font(face: Face | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if face is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(face.path, size, index=face.index)


# -- drawing ---------------------------------------------------------------------------------


def qr_image(content: str) -> Image.Image:
    """The code for `content` with its quiet zone, whole pixels per module, at most QR_SIDE."""
    code = segno.make_qr(content, error="m")  # make_qr: never a Micro QR
    modules = code.symbol_size(scale=1, border=QUIET_ZONE)[0]
    rows = code.matrix_iter(scale=1, border=QUIET_ZONE)
    pixels = bytes(0 if dark else 255 for row in rows for dark in row)
    image = Image.frombytes("L", (modules, modules), pixels)
    scale = max(1, QR_SIDE // modules)
    return image.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


def label(space: Space, zone_name: str, content: str, face: Face | None) -> Image.Image:
    """One space's label (bilevel). Without a Chinese font only the id, in ASCII."""
    cell = Image.new("L", CELL, 255)
    code = qr_image(content)
    cell.paste(code, ((CELL[0] - code.width) // 2, QR_TOP + (QR_SIDE - code.height) // 2))
    lines = [(space.id.encode("ascii", "replace").decode(), ID_LINE)]
    if face is not None:
        name = f"{space.name} · {zone_name}" if zone_name else space.name
        lines = [(space.id, ID_LINE), (name, NAME_LINE), (INSTRUCTION, HINT_LINE)]
    draw = ImageDraw.Draw(cell)
    for text, (top, size, stroke) in lines:
        font = _font(face, size)
        while size > 16 and draw.textlength(text, font=font) > TEXT_WIDTH:
            size -= 4  # a long room name shrinks to fit rather than being cut off
            font = _font(face, size)
        draw.text((CELL[0] // 2, top), text, fill=0, font=font, anchor="ma", stroke_width=stroke)
    return cell.convert("1", dither=Image.Dither.NONE)


def page_of(cells: Sequence[Image.Image]) -> Image.Image:
    """Up to COLUMNS × ROWS labels on an A4 page, each framed by dashed cut lines."""
    page = Image.new("1", A4, 1)
    draw = ImageDraw.Draw(page)
    width, height = CELL
    for n, cell in enumerate(cells):
        x, y = MARGIN + (n % COLUMNS) * width, MARGIN + (n // COLUMNS) * height
        page.paste(cell, (x, y))
        for at in range(0, max(width, height), 2 * DASH):
            if at < width:  # top and bottom edges
                for edge in (y, y + height):
                    draw.line([(x + at, edge), (x + min(at + DASH, width), edge)], fill=0, width=2)
            if at < height:  # left and right edges
                for edge in (x, x + width):
                    draw.line([(edge, y + at), (edge, y + min(at + DASH, height))], fill=0, width=2)
    return page


# -- files -----------------------------------------------------------------------------------


def sheet_name(space: Space) -> str:
    """The PDF a space is printed in: seats by zone, other spaces by type."""
    return UNSAFE_IN_FILE_NAMES.sub("_", space.zone if space.type == "seat" else space.type)


@dataclass
class Written:
    pngs: int = 0
    pdfs: int = 0
    pages: int = 0


def write(
    spaces: Sequence[Space],
    zone_names: Mapping[str, str],
    codes: Mapping[str, str],
    out: Path,
    formats: str,
    face: Face | None,
) -> Written:
    """out/png/<ID>.png and/or out/<zone or type>.pdf ("png", "pdf" or "both")."""
    pngs, pdfs = formats in ("png", "both"), formats in ("pdf", "both")
    written = Written()
    (out / "png" if pngs else out).mkdir(parents=True, exist_ok=True)
    sheets: dict[str, list[Space]] = {}
    for space in spaces:
        sheets.setdefault(sheet_name(space), []).append(space)
    for name, members in sheets.items():
        pdf = PdfWriter()
        for chunk in _chunks(members, COLUMNS * ROWS):
            cells = [label(s, zone_names.get(s.zone, ""), codes[s.id], face) for s in chunk]
            if pngs:
                for space, cell in zip(chunk, cells, strict=True):
                    file_name = UNSAFE_IN_FILE_NAMES.sub("_", space.id) + ".png"
                    cell.save(out / "png" / file_name, dpi=(DPI, DPI))
                written.pngs += len(cells)
            if pdfs:
                single = io.BytesIO()
                page_of(cells).save(single, "PDF", resolution=DPI)
                pdf.append(PdfReader(single))
                written.pages += 1
        if pdfs:
            pdf.add_metadata({"/Title": f"馆伴签到二维码 {name}"})
            with open(out / f"{name}.pdf", "wb") as handle:
                pdf.write(handle)
            written.pdfs += 1
    return written


def _chunks(items: Sequence[Space], size: int) -> Iterator[Sequence[Space]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
