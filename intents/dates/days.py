"""Dates: explicit ones (2027-01-05, 12.1, 十二月一日), days of a month (下个月3号, 3号), relative
days (明天, 今晚), weekdays (下周三) and holidays, resolved against today by the date pass."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from intents.dates.holidays import _HOLIDAY, _holiday_date
from intents.dates.numerals import _CN, _cn_int
from intents.dates.spans import Edit, Entity, _apply, _entity

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
