"""The bookings a search finds, as a CSV file for librarians (streamed, UTF-8 with a BOM).

Read-only, like handlers.reservations.reports, whose search it runs; it names readers, so it
is for the staff console and API only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from handlers.reservations.reports import (
    CHANNEL_NAMES,
    SEARCH_FROM,
    SEARCH_ORDER,
    STATUS_NAMES,
    _decoded,
    _local,
    _where,
    _with_readers,
)
from handlers.reservations.spaces import TYPE_NAMES, Spaces

# Chinese column names: the file is for librarians, who open it in Excel or WPS and pass it
# to people who read Chinese. Scripts should use the JSON API, whose field names are English.
CSV_COLUMNS = (
    "预约号",
    "日期",
    "开始",
    "结束",
    "空间编号",
    "空间名称",
    "区域",
    "类型",
    "状态",
    "读者姓名",
    "学号",
    "渠道",
    "读者ID",
    "人数",
    "同行学号",
    "预约时间",
    "签到时间",
    "结束时间",
    "取消原因",
    "取消人",
)
BOM = "\ufeff"  # Excel reads a CSV without it as the local ANSI code page: Chinese garbled
CSV_CHUNK = 500


def _cell(value: Any) -> str:
    """A value as text; one a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _stamp(value: str | None) -> str:
    return f"{_local(datetime.fromisoformat(value)):%Y-%m-%d %H:%M}" if value else ""


def csv_row(row: dict[str, Any], spaces: Spaces) -> list[str]:
    space = spaces.get(row["space_id"])
    zone = spaces.zones.get(space.zone) if space else None
    values = [
        row["ref"],
        row["day"],
        row["start"],
        row["end"],
        row["space_id"],
        space.name if space else "",
        zone.name if zone else "",
        TYPE_NAMES.get(row["space_type"], row["space_type"]),
        STATUS_NAMES.get(row["status"], row["status"]),
        row.get("name"),
        row.get("student_no"),
        CHANNEL_NAMES.get(row["channel"], row["channel"]),
        row["user_id"],
        row["party_size"],
        "、".join(row["companions"]),
        _stamp(row["created_at"]),
        _stamp(row["checked_in_at"]),
        _stamp(row["ended_at"]),
        row["cancel_reason"],
        row["cancelled_by"],
    ]
    return [_cell(v) for v in values]


def _csv_chunks(batches: Iterator[list[dict[str, Any]]], spaces: Spaces) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield BOM + buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(row, spaces) for row in batch)
        yield buffer.getvalue()


def search_csv(
    db: Database,
    spaces: Spaces,
    *,
    query: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    status: str = "",
    space_id: str = "",
    space_type: str = "",
) -> Iterator[str]:
    """Every booking the search finds, as CSV chunks to stream (BOM and header first). One
    cursor walks the rows, so a year's bookings never sit in memory at once. Bad filters
    raise ValueError here, before anything is sent."""
    where, params = _where(db, query, day_from, day_to, status, space_id, space_type)
    rows = db.query(f"SELECT b.* {SEARCH_FROM}{where}{SEARCH_ORDER}", params)

    def batches() -> Iterator[list[dict[str, Any]]]:
        batch = []
        for row in rows:
            batch.append(_decoded(row))
            if len(batch) >= CSV_CHUNK:
                yield _with_readers(db, batch)
                batch = []
        if batch:
            yield _with_readers(db, batch)

    return _csv_chunks(batches(), spaces)
