"""Dates, times and durations in a reader's message, as Rasa-style entities.

`extract(text, now)` returns `date` ("YYYY-MM-DD"), `start_time` / `end_time` ("HH:MM", 24 h)
and `duration_minutes` (int) entities whose `start`/`end` index into the text as given.
Pure Python: no I/O, no clock of its own (everything relative is anchored at `now`).

How it works: the text is folded to one width and case (length-preserving, so spans stay
valid), then a few passes run in a fixed order. Each pass blanks out what it recognised so a
later, looser pass cannot reuse it: durations first (so 「1.5小时」 is never the date 1/5),
then dates (so 「周三3点」 leaves a clean 「3点」), then time ranges, single times and finally
bare parts of the day. Compound words such as 今晚/明早 give a date and are then rewritten in
the working copy to the part of day they carry (晚上/早上), so 「今晚8点」 reads like 「晚上8点」.

Choices the catalogue (intents/data/SPEC.md) leaves open, made here:
- 这周X / 本周X is this week's day even when it has passed; 上周X is last week's. Weeks start
  on Monday, so 周日 is the last day of its week. A bare weekday is the next one to come,
  today included. 周末 means Saturday.
- A month-day without a year that has passed this year means next year; today counts as
  coming. An explicit year is kept even when in the past. 这个月N号 stays in this month; a bare
  「N号」 is the next N-th to come (this month if not past, else next month), but not when a
  place follows (3号楼, 3号讨论室, 1号线). Chinese-numeral days need 日/号.
- Holidays give the holiday's own day (国庆 → 10-01, 清明 → the solar term), the next one to
  come, today included. Lunar holidays and 清明 come from a table for 2025-2031; beyond it they
  give nothing rather than a guess.
- Bare parts of day: 凌晨 00-06, 早上 07-09, 上午 08-12, 中午 12-14, 下午 14-18, 傍晚 17-19,
  晚上 18-22. Greetings (下午好) are not parts of day. 「上午到下午」 gives 08:00-18:00.
- Hours: 1-6 with no part of day mean afternoon (booking sense); so does 「3:30」, but a
  zero-padded 「03:30」 or any hour 13-23 is taken as written. 晚上12点 → 00:00; 晚上1-4点 stay
  early morning. Hours 24 and above are not times.
- 「一点」 alone is 'a little' (快一点), so it is a time only with a part of day, minutes, 钟, or
  inside a range. 「三点建议」-style counts (followed by 建议/意见/问题...) are not times.
- A time followed by 前/之前/以前 is an end_time (「5点前」 → end 17:00); otherwise a single time
  is a start_time. A compound like 今晚 shares its span between the date and the times.
- Durations are capped at 24 hours; 「24小时开放」-style descriptions are not durations.
- Dotted numbers (12.1, 10.30) are dates, never times; compact digit runs (20261201) are
  never dates, so student numbers and ISBNs stay quiet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

__all__ = ["extract"]

_SHANGHAI = timezone(timedelta(hours=8))  # China has had no DST since 1991

# -- folding: one width, one case, a few traditional forms; never changes the length ---------

_FOLD = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}  # full-width ASCII → ASCII
_FOLD.update({i: i + 32 for i in range(ord("A"), ord("Z") + 1)})
_FOLD.update(str.maketrans("\u3000\u2014\u2013\u2015\u2212\u301c", " ----~"))  # dashes, waves
_FOLD.update(str.maketrans("點週號兩鐘頭禮個後時節慶勞動間淩", "点周号两钟头礼个后时节庆劳动间凌"))

# -- Chinese numerals ------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGIT.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})


def _cn_int(s: str) -> int | None:
    """「十二」→12, 「二十三」→23, 「一百二十」→120, 「二〇二七」→2027; None if malformed."""
    if s.isascii():
        return int(s) if s.isdigit() else None
    if "十" not in s and "百" not in s:
        value = 0
        for ch in s:
            digit = _CN_DIGIT.get(ch)
            if digit is None:
                return None
            value = value * 10 + digit
        return value
    total = 0
    rest = s
    if "百" in rest:
        head, _, rest = rest.partition("百")
        hundreds = _CN_DIGIT.get(head) if head else 1
        if hundreds is None:
            return None
        total += hundreds * 100
        rest = rest.lstrip("零〇")
    if "十" in rest:
        head, _, tail = rest.partition("十")
        tens = _CN_DIGIT.get(head) if head else 1
        ones = _CN_DIGIT.get(tail) if tail else 0
        if tens is None or ones is None:
            return None
        total += tens * 10 + ones
    elif rest:
        ones = _CN_DIGIT.get(rest)
        if ones is None:
            return None
        total += ones
    return total


def _number(s: str) -> float | None:
    if "." in s:
        try:
            return float(s)
        except ValueError:
            return None
    return _cn_int(s)


# -- shared pattern pieces ---------------------------------------------------------------------

_CN = "零〇一二两三四五六七八九十"
_SEP = r"(?:到|至|-{1,2}|~)"
_PARTS_PREFIX = (
    r"凌晨|早上|早晨|清晨|一早|上午|中午|下午|午后|傍晚|晚上|晚间|夜里|夜间|夜晚|深夜"
    r"|(?<![最太较很更稍提趁])早|(?<![最太较很更稍趁])晚"
)
_PARTS_BARE = r"凌晨|早上|早晨|清晨|一早|上午|中午|下午|午后|傍晚|晚上|晚间|夜晚"
_PART_KIND = {
    "凌晨": "dawn",
    "早上": "morning",
    "早晨": "morning",
    "清晨": "morning",
    "一早": "morning",
    "早": "morning",
    "上午": "am",
    "中午": "noon",
    "下午": "pm",
    "午后": "pm",
    "傍晚": "dusk",
    "晚上": "evening",
    "晚间": "evening",
    "夜里": "evening",
    "夜间": "evening",
    "夜晚": "evening",
    "深夜": "evening",
    "晚": "evening",
}
_PART_SPAN = {
    "dawn": ("00:00", "06:00"),
    "morning": ("07:00", "09:00"),
    "am": ("08:00", "12:00"),
    "noon": ("12:00", "14:00"),
    "pm": ("14:00", "18:00"),
    "dusk": ("17:00", "19:00"),
    "evening": ("18:00", "22:00"),
}

# Minutes after 点: 半, 一刻/三刻, 整, 零五/05, two digits or a Chinese number with 十, or a single
# digit with 分. A lone 「3点一」 is not a minute (「3点一起」).
_MINUTE = (
    r"\s?(?:半|[一1三3]\s?刻(?!钟)|整"
    r"|(?:零|0)(?:\d|[一二三四五六七八九])\s?分?"
    r"|(?:\d\d|[一二三四五]?十[一二三四五六七八九]?)\s?分?"
    r"|(?:\d|[一二三四五六七八九])\s?分)"
    r"(?![个位名本楼层号人钟章节页\d])"
)


def _time_pattern(k: str) -> str:
    """One clock time; group names carry the suffix k so a range can hold two."""
    return (
        rf"(?:(?<![\d.:])(?P<ch{k}>\d{{1,2}})\s?:\s?(?P<cm{k}>\d\d)(?!\d)"
        rf"(?:\s?(?P<cap{k}>[ap])\.?m(?![a-z])\.?)?"
        rf"|(?<![\d.:第a-z])(?P<dh{k}>\d{{1,2}})\s?(?:点|时(?![间候段长]))(?P<dz{k}>\s?钟)?"
        rf"(?P<dm{k}>{_MINUTE})?"
        rf"|(?<![{_CN}百千第几])(?P<kh{k}>[{_CN}]{{1,3}})\s?(?:点|时(?![间候段长]))(?P<kz{k}>\s?钟)?"
        rf"(?P<km{k}>{_MINUTE})?"
        rf"|(?<![\d.:])(?P<ah{k}>\d{{1,2}})\s?(?P<ap{k}>[ap])\.?m(?![a-z])\.?)"
    )


_RANGE = re.compile(
    rf"(?:(?P<p1>{_PARTS_PREFIX})\s?)?"
    rf"(?:{_time_pattern('1')}|(?<![\d.:])(?P<bh1>\d{{1,2}})|(?<![{_CN}百千第几])(?P<bk1>[{_CN}]{{1,3}}))"
    rf"\s?{_SEP}\s?(?:(?P<p2>{_PARTS_PREFIX})\s?)?{_time_pattern('2')}"
)
_SINGLE = re.compile(rf"(?:(?P<p1>{_PARTS_PREFIX})\s?)?{_time_pattern('1')}")
_BEFORE = re.compile(r"\s?(?:之前|以前|前(?!后))")
_NOT_A_TIME_AFTER = re.compile(
    r"建议|意见|要求|内容|原因|问题|看法|想法|疑问|注意|不足|理由|需求|感受|收获|体会|说明|想说|要说"
)
_PART_RANGE = re.compile(rf"(?P<p1>{_PARTS_BARE})\s?{_SEP}\s?(?P<p2>{_PARTS_BARE})")
_PART_BARE = re.compile(rf"(?:{_PARTS_BARE})(?!好)")

_DUR_NUM = rf"(?:\d{{1,4}}(?:\.\d{{1,2}})?|[{_CN}百]{{1,5}})"
_DURATION = re.compile(
    rf"(?<![\d.])(?:"
    rf"(?P<h>{_DUR_NUM})\s?(?:个\s?)?(?P<half>半\s?)?(?:个\s?)?"
    rf"(?:小时|钟头|钟|hours?|hrs?|h(?![a-z]))"
    rf"(?:\s?(?:零|又)?\s?(?P<hm>\d{{1,2}}|[{_CN}]{{1,3}})\s?分钟?)?"
    rf"|半\s?(?:个\s?)?(?:小时|钟头|个钟)"
    rf"|(?P<m>{_DUR_NUM})\s?(?:分钟|mins?(?![a-z])|minutes?)"
    rf"|(?P<q>[一二两三123])\s?刻钟"
    rf")(?!\s?(?:开放|营业|自习|服务|制|不间断))"
)

# -- dates -----------------------------------------------------------------------------------

_CN_MONTH = r"十[一二]?|[一二三四五六七八九]"
_CN_DAY = r"[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九]"
_YMD_NUM = re.compile(
    r"(?<![\d./\-:])(?P<y>\d{4})(?P<sep>[-./])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?![\d./\-:])(?:\s?[日号])?"
)
_MD_NUM = re.compile(
    r"(?<![\d./\-:a-z])(?P<mo>\d{1,2})[./](?P<d>\d{1,2})(?![\d./:%])"
    r"(?!\s?(?:个|小时|钟|倍|分|元|块|米|折|本|楼|层|万|亿|版|岁|斤|公|寸|[a-z]))(?:\s?[日号])?"
)
_MD_CN = re.compile(
    rf"(?:(?P<y>\d{{4}}|[〇零一二三四五六七八九]{{4}})\s?年\s?)?"
    rf"(?<![\d.〇零一二两三四五六七八九十])(?P<mo>\d{{1,2}}|{_CN_MONTH})\s?月\s?"
    rf"(?P<d>\d{{1,2}}|{_CN_DAY})(?:\s?(?P<suf>[日号]))?"
)
_MD_NO_SUFFIX_STOP = re.compile(r"\s?[\d个人本楼层位名次点:时]")
_REL_MONTH_DAY = re.compile(
    rf"(?P<rel>这个月|本月|当月|下个月|下月)\s?(?P<d>\d{{1,2}}|{_CN_DAY})\s?[日号]"
)
_PLACE_AFTER = r"(?![号楼栋座室位馆厅门线机窗柜桌床房区层人讨研阅书架院口车站台包间箱格码])"
_BARE_DAY = re.compile(
    rf"(?<![\d.\-/a-z第月个])(?P<d>\d{{1,2}})\s?[号日]{_PLACE_AFTER}"
    rf"|(?<![{_CN}第月个])(?P<k>{_CN_DAY})号{_PLACE_AFTER}"
)
_REL_DAY = re.compile(
    r"大前天|前天|昨天|昨日|昨儿|昨晚|昨夜|今天|今日|今儿|今早|今晚|今夜|"
    r"明天|明日|明儿|明早|明晚|大后天|后天"
)
_REL_OFFSET = {"大前": -3, "前天": -2, "昨": -1, "今": 0, "明": 1, "后天": 2, "大后": 3}
_REL_PART = {"今早": "早上", "明早": "早上", "今晚": "晚上", "今夜": "晚上", "明晚": "晚上"}
_REL_PART.update({"昨晚": "晚上", "昨夜": "晚上"})
_WEEKDAY = re.compile(
    r"(?:(?P<pre>这个|这|本|下下个|下下|下个|下|上上个|上上|上个|上)"
    r"|(?<![\d零〇一二两三四五六七八九十几]))"
    r"(?:周|星期|礼拜)(?P<d>[一二三四五六日天末1-7])(?![次遍回个本])"
)
_WEEKDAY_NUM = {ch: n for n, ch in enumerate("一二三四五六日", start=1)} | {"天": 7, "末": 6}
_WEEKDAY_NUM |= {str(n): n for n in range(1, 8)}
_WEEK_SHIFT = {"这": 0, "本": 0, "下": 1, "下下": 2, "上": -1, "上上": -2}
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

_ORDER = {"date": 0, "start_time": 1, "end_time": 2, "duration_minutes": 3}

Entity = dict[str, object]
Edit = tuple[int, int, str]


# -- public API ------------------------------------------------------------------------------


def extract(text: str, now: datetime) -> list[Entity]:
    """Dates, start/end times and durations in `text`, relative to `now`.

    `now` should be aware; it is read in Asia/Shanghai. A naive `now` is taken as local time.
    """
    if not text:
        return []
    if now.tzinfo is not None:
        now = now.astimezone(_SHANGHAI)
    today = now.date()
    work = text.translate(_FOLD)
    found: list[Entity] = []

    work = _durations(work, found)
    work = _dates(work, today, found)
    work = _time_ranges(work, found)
    work = _single_times(work, found)
    _parts_of_day(work, found)

    found.sort(key=lambda e: (e["start"], _ORDER[str(e["entity"])], e["end"]))
    seen: set[tuple[object, ...]] = set()
    unique: list[Entity] = []
    for entity in found:
        key = tuple(entity.values())
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique


# -- passes ----------------------------------------------------------------------------------


def _entity(name: str, value: object, start: int, end: int) -> Entity:
    return {"entity": name, "value": value, "start": start, "end": end}


def _apply(work: str, edits: list[Edit]) -> str:
    """Blank out (or rewrite) recognised spans; edits are non-overlapping and in order."""
    if not edits:
        return work
    pieces: list[str] = []
    last = 0
    for start, end, replacement in edits:
        pieces.append(work[last:start])
        pieces.append(replacement if replacement else "\0" * (end - start))
        last = end
    pieces.append(work[last:])
    return "".join(pieces)


def _durations(work: str, found: list[Entity]) -> str:
    edits: list[Edit] = []
    for m in _DURATION.finditer(work):
        minutes = _duration_minutes(m)
        if minutes is None or not 0 < minutes <= 24 * 60:
            continue
        found.append(_entity("duration_minutes", minutes, m.start(), m.end()))
        edits.append((m.start(), m.end(), ""))
    return _apply(work, edits)


def _duration_minutes(m: re.Match[str]) -> int | None:
    if m.group("h") is not None:
        hours = _number(m.group("h"))
        if hours is None:
            return None
        total = hours * 60 + (30 if m.group("half") else 0)
        if m.group("hm") is not None:
            extra = _cn_int(m.group("hm"))
            if extra is None or extra >= 60:
                return None
            total += extra
        return round(total)
    if m.group("m") is not None:
        minutes = _number(m.group("m"))
        return None if minutes is None else round(minutes)
    if m.group("q") is not None:
        quarters = _cn_int(m.group("q"))
        return None if quarters is None else quarters * 15
    return 30  # 半小时 / 半个钟头


def _dates(work: str, today: date, found: list[Entity]) -> str:
    # Most specific first: 「2027年1月5日」 before 「5日」, 「下个月3号」 before 「3号」.
    passes: list[tuple[re.Pattern[str], Callable[[re.Match[str], str, date], date | None]]] = [
        (_YMD_NUM, lambda m, w, t: _make_date(int(m["y"]), int(m["mo"]), int(m["d"]))),
        (_MD_NUM, lambda m, w, t: _next_month_day(t, int(m["mo"]), int(m["d"]))),
        (_MD_CN, _month_day_cn),
        (_REL_MONTH_DAY, _this_or_next_month_day),
        (_BARE_DAY, lambda m, w, t: _next_day_of_month(t, _cn_int(m["d"] or m["k"]) or 0)),
        (_REL_DAY, _relative_day),
        (_WEEKDAY, lambda m, w, t: _weekday_date(t, m["pre"], _WEEKDAY_NUM[m["d"]])),
        (_HOLIDAY, _holiday_date),
    ]
    for pattern, resolve in passes:
        edits: list[Edit] = []
        for m in pattern.finditer(work):
            value = resolve(m, work, today)
            if value is not None:
                found.append(_entity("date", value.isoformat(), m.start(), m.end()))
                # 今晚/明早 leave their part of day behind for the time passes.
                edits.append((m.start(), m.end(), _REL_PART.get(m.group(), "")))
        work = _apply(work, edits)
    return work


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_month_day(today: date, month: int, day: int) -> date | None:
    """The next `month`/`day` to come, today included (2月29日 waits for a leap year)."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    for year in range(today.year, today.year + 5):
        candidate = _make_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _month_day_cn(m: re.Match[str], work: str, today: date) -> date | None:
    day_text = m["d"]
    # 「12月1」 alone is a date, but 「十二月一」 or 「12月15个人」 is not.
    if m["suf"] is None and (not day_text.isdigit() or _MD_NO_SUFFIX_STOP.match(work, m.end())):
        return None
    month, day = _cn_int(m["mo"]), _cn_int(day_text)
    if month is None or day is None:
        return None
    if m["y"] is not None:
        year = _cn_int(m["y"])
        return _make_date(year, month, day) if year else None
    return _next_month_day(today, month, day)


def _this_or_next_month_day(m: re.Match[str], work: str, today: date) -> date | None:
    day = _cn_int(m["d"]) or 0
    shift = 1 if m["rel"].startswith("下") else 0
    year, month = divmod(today.month - 1 + shift, 12)
    return _make_date(today.year + year, month + 1, day)


def _relative_day(m: re.Match[str], work: str, today: date) -> date:
    word = m.group()
    return today + timedelta(days=next(v for k, v in _REL_OFFSET.items() if word.startswith(k)))


def _next_day_of_month(today: date, day: int) -> date | None:
    year, month = today.year, today.month
    for _ in range(3):
        candidate = _make_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _weekday_date(today: date, prefix: str | None, weekday: int) -> date:
    if prefix is None:  # the next one to come, today included
        return today + timedelta(days=(weekday - 1 - today.weekday()) % 7)
    monday = today - timedelta(days=today.weekday())
    shift = _WEEK_SHIFT[prefix.removesuffix("个")]
    return monday + timedelta(days=7 * shift + weekday - 1)


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


# -- times -----------------------------------------------------------------------------------

_Clock = tuple[int, int, str | None, bool]  # hour, minute, "a"/"p" or None, taken as written


def _read_clock(m: re.Match[str], k: str) -> _Clock | None:
    """The raw clock reading of one time in a match, before any part-of-day rule."""
    if m["ch" + k] is not None:
        hour_text = m["ch" + k]
        hour, minute = int(hour_text), int(m["cm" + k])
        ampm = m["cap" + k]
        fixed = hour_text.startswith("0") and len(hour_text) == 2
    elif m["ah" + k] is not None:
        hour, minute, ampm, fixed = int(m["ah" + k]), 0, m["ap" + k], False
    else:
        digits = m["dh" + k] is not None
        parsed = int(m["dh" + k]) if digits else _cn_int(m["kh" + k])
        if parsed is None:
            return None
        hour, ampm, fixed = parsed, None, False
        minute_text = m[("dm" if digits else "km") + k]
        minute = _read_minute(minute_text) if minute_text else 0
        if minute is None:
            return None
    if ampm is not None and not 1 <= hour <= 12:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute, ampm, fixed or hour >= 13


def _read_minute(text: str) -> int | None:
    text = text.strip().rstrip("分").strip()
    if text == "半":
        return 30
    if text == "整":
        return 0
    if text.endswith("刻"):
        return 15 if text[0] in "一1" else 45
    return _cn_int(text.lstrip("零"))


def _to_24h(clock: _Clock, part: str | None) -> int:
    hour, _, ampm, fixed = clock
    if ampm == "a":
        return 0 if hour == 12 else hour
    if ampm == "p":
        return hour if hour == 12 else hour + 12
    if fixed:
        return hour
    kind = _PART_KIND.get(part) if part else None
    if kind is None:
        return hour + 12 if 1 <= hour <= 6 else hour  # booking sense: 3点 is 15:00
    if kind == "dawn":
        return 0 if hour == 12 else hour
    if kind == "noon":
        return hour + 12 if 1 <= hour <= 3 else hour
    if kind in ("pm", "dusk"):
        return hour + 12 if 1 <= hour <= 11 else hour
    if kind == "evening":
        if hour == 12:
            return 0
        return hour + 12 if 5 <= hour <= 11 else hour
    return hour  # morning, am


def _hhmm(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _time_ranges(work: str, found: list[Entity]) -> str:
    edits: list[Edit] = []
    for m in _RANGE.finditer(work):
        end_clock = _read_clock(m, "2")
        if end_clock is None:
            continue
        if m["bh1"] is not None or m["bk1"] is not None:
            if m["dh2"] is None and m["kh2"] is None:  # 「3-15:00」 is not a range
                continue
            hour = int(m["bh1"]) if m["bh1"] is not None else _cn_int(m["bk1"])
            if hour is None or hour > 23:
                continue
            start_clock: _Clock | None = (hour, 0, None, hour >= 13)
        else:
            start_clock = _read_clock(m, "1")
        if start_clock is None:
            continue
        part1, part2 = m["p1"], m["p2"] or m["p1"]
        h1, m1 = _to_24h(start_clock, part1), start_clock[1]
        h2, m2 = _to_24h(end_clock, part2), end_clock[1]
        if (h2, m2) <= (h1, m1) and h2 + 12 <= 23 and (h2 + 12, m2) > (h1, m1):
            h2 += 12  # 「10点到2点」 ends at 14:00
        split = m.start("p2") if m["p2"] else _second_time_start(m)
        sep_start = _sep_start(work, m, split)
        found.append(_entity("start_time", _hhmm(h1, m1), m.start(), sep_start))
        found.append(_entity("end_time", _hhmm(h2, m2), split, m.end()))
        edits.append((m.start(), m.end(), ""))
    return _apply(work, edits)


def _second_time_start(m: re.Match[str]) -> int:
    for group in ("ch2", "dh2", "kh2", "ah2"):
        if m[group] is not None:
            return m.start(group)
    return m.end()


def _sep_start(work: str, m: re.Match[str], split: int) -> int:
    """Where the first time of a range ends: before the separator and its spaces."""
    i = split
    while i > m.start() and work[i - 1] in " 到至-~":
        i -= 1
    return i


def _single_times(work: str, found: list[Entity]) -> str:
    edits: list[Edit] = []
    for m in _SINGLE.finditer(work):
        clock = _read_clock(m, "1")
        if clock is None:
            continue
        part = m["p1"]
        bare_hour = part is None and (m["kh1"] is not None or m["dh1"] is not None)
        if bare_hour and m["dm1"] is None and m["km1"] is None:
            after_date = m.start() > 0 and work[m.start() - 1] == "\0"
            if m["kh1"] == "一" and m["kz1"] is None and not after_date:
                continue  # 「快一点」, 「有一点」: 'a little', not one o'clock
            if _NOT_A_TIME_AFTER.match(work, m.end()):
                continue  # 「三点建议」: three points
        value = _hhmm(_to_24h(clock, part), clock[1])
        name = "end_time" if _BEFORE.match(work, m.end()) else "start_time"
        found.append(_entity(name, value, m.start(), m.end()))
        edits.append((m.start(), m.end(), ""))
    return _apply(work, edits)


def _parts_of_day(work: str, found: list[Entity]) -> None:
    edits: list[Edit] = []
    for m in _PART_RANGE.finditer(work):
        first = _PART_SPAN[_PART_KIND[m["p1"]]]
        second = _PART_SPAN[_PART_KIND[m["p2"]]]
        found.append(_entity("start_time", first[0], m.start("p1"), m.end("p1")))
        found.append(_entity("end_time", second[1], m.start("p2"), m.end("p2")))
        edits.append((m.start(), m.end(), ""))
    work = _apply(work, edits)
    for m in _PART_BARE.finditer(work):
        start, end = _PART_SPAN[_PART_KIND[m.group()]]
        found.append(_entity("start_time", start, m.start(), m.end()))
        found.append(_entity("end_time", end, m.start(), m.end()))
