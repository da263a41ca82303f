"""Holidays (国庆, 春节, 清明 …) as the holiday's own day: the words, the table of lunar
holidays and 清明 for 2025-2031, and the guards that keep 五一/十一 from being numbers."""

from __future__ import annotations

import re
from datetime import date

_HOLIDAY = re.compile(
    r"元旦|春节|大年初一|正月初一|过年|除夕|大年三十|年三十|清明(?:节)?(?!上河)|劳动节"
    r"|五一(?:劳动节|节)?|端午(?:节)?|中秋(?:节)?|国庆(?:节)?|十一"
)
_NUMERAL_BEFORE = re.compile(r"[\d〇零一二两三四五六七八九十百第周期月号]")
_MAYDAY_STOP = re.compile(r"[个班号路楼栋层级届次%\d]")
_ELEVEN_CONTEXT = re.compile(
    r"节|小?长假|假期|放假|黄金周|那天|那几天|期间|当天|前后|之前|之后|以前|以后|回来|出去"
)
# Gregorian dates of lunar holidays and 清明. 2025-2026 checked against chinesecalendar 1.11.0's
# holiday and solar-term data; all years decoded from the Hong Kong Observatory-derived lunar
# table (lunarInfo, 1900-2100) used by most Chinese calendar widgets, and 清明 from
# chinese_calendar.get_solar_terms.
_TABLE_HOLIDAYS: dict[str, dict[int, tuple[int, int]]] = {
    "spring": {
        2025: (1, 29),
        2026: (2, 17),
        2027: (2, 6),
        2028: (1, 26),
        2029: (2, 13),
        2030: (2, 3),
        2031: (1, 23),
    },
    "eve": {
        2025: (1, 28),
        2026: (2, 16),
        2027: (2, 5),
        2028: (1, 25),
        2029: (2, 12),
        2030: (2, 2),
        2031: (1, 22),
    },
    "dragon_boat": {
        2025: (5, 31),
        2026: (6, 19),
        2027: (6, 9),
        2028: (5, 28),
        2029: (6, 16),
        2030: (6, 5),
        2031: (6, 24),
    },
    "mid_autumn": {
        2025: (10, 6),
        2026: (9, 25),
        2027: (9, 15),
        2028: (10, 3),
        2029: (9, 22),
        2030: (9, 12),
        2031: (10, 1),
    },
    "qingming": {
        2025: (4, 4),
        2026: (4, 5),
        2027: (4, 5),
        2028: (4, 4),
        2029: (4, 4),
        2030: (4, 5),
        2031: (4, 5),
    },
}
_FIXED_HOLIDAYS = {"new_year": (1, 1), "labour": (5, 1), "national": (10, 1)}
_HOLIDAY_NAME = {
    "元旦": "new_year",
    "春节": "spring",
    "大年初一": "spring",
    "正月初一": "spring",
    "过年": "spring",
    "除夕": "eve",
    "大年三十": "eve",
    "年三十": "eve",
    "清明": "qingming",
    "劳动节": "labour",
    "五一": "labour",
    "端午": "dragon_boat",
    "中秋": "mid_autumn",
    "国庆": "national",
    "十一": "national",
}


def _holiday_date(m: re.Match[str], work: str, today: date) -> date | None:
    word = m.group()
    start, end = m.start(), m.end()
    if word in ("五一", "十一"):
        if start and _NUMERAL_BEFORE.match(work, start - 1):
            return None
        if word == "五一" and _MAYDAY_STOP.match(work, end):
            return None
        if word == "十一" and not _ELEVEN_CONTEXT.match(work, end):
            return None
    name = next(v for k, v in _HOLIDAY_NAME.items() if word.startswith(k))
    for year in (today.year, today.year + 1):
        if name in _FIXED_HOLIDAYS:
            month, day = _FIXED_HOLIDAYS[name]
        elif year in _TABLE_HOLIDAYS[name]:
            month, day = _TABLE_HOLIDAYS[name][year]
        else:
            return None
        candidate = date(year, month, day)
        if candidate >= today:
            return candidate
    return None
