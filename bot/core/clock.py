"""The library's clock. Rules take a `Clock` so tests can stand at any minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in the library's time zone (aware)."""
    return datetime.now(TZ)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always says `moment` (tests, simulations)."""
    return lambda: moment


def isoformat(moment: datetime) -> str:
    """Stored form: ISO-8601 with offset, in Asia/Shanghai."""
    return moment.astimezone(TZ).isoformat(timespec="seconds")
