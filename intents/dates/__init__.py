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

The package, lowest module first (each imports only the ones above it):
- numerals: folding to one width and case, Chinese numerals, pattern pieces all passes share
- spans: the entity dicts and how a pass blanks out what it recognised
- parts_of_day: 上午/下午/晚上… words, their spans, and the bare part-of-day pass
- clock: clock times (3点半, 15:00, 3pm) and time ranges
- durations: 1.5小时, 半小时, 二十分钟
- holidays: holiday words and the holiday table
- days: explicit dates, relative days (明天), weekdays (下周三) and the date pass
- extractor: `extract`, which runs the passes in order
"""

from __future__ import annotations

from intents.dates.extractor import day_of, extract, extract_on

__all__ = ["day_of", "extract", "extract_on"]
