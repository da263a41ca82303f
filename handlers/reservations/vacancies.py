"""Which spaces are free when, worked out in memory from one read of a day.

At the seat-release minute every request asks "is anything free 08:00–12:00?", and every
reader turned away is offered other times — a dozen shifted periods. Asking the database once
per period cost 0.5–1 ms each, over 1,000 seat rows; reading the day once and testing the
periods here costs microseconds. Spaces whose periods are the same (at the rush: all 1,000
seats booked 08:00–12:00) are tested once, as a group.

Times are minutes from midnight; a period [start, end) overlaps another when each starts before
the other ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time

from handlers.reservations.spaces import Space

Periods = tuple[tuple[int, int], ...]


def minute(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _overlaps(periods: Periods, start: int, end: int) -> bool:
    return any(first < end and last > start for first, last in periods)


@dataclass
class Occupancy:
    """What holds each space on one day (its bookings and closures): space id → periods."""

    periods: dict[str, Periods] = field(default_factory=dict)

    @classmethod
    def from_periods(cls, rows: Iterable[tuple[str, int, int]]) -> Occupancy:
        found: dict[str, list[tuple[int, int]]] = {}
        for space_id, start, end in rows:
            found.setdefault(space_id, []).append((start, end))
        return cls(
            {
                space_id: tuple(sorted(p)) if len(p) > 1 else tuple(p)
                for space_id, p in found.items()
            }
        )

    def is_free(self, space_id: str, start: time, end: time) -> bool:
        return not _overlaps(self.periods.get(space_id, ()), minute(start), minute(end))

    def vacancies(self, candidates: Sequence[Space]) -> Vacancies:
        return Vacancies(self, candidates)


class Vacancies:
    """The candidates (in their order) free in a period; ask for as many periods as needed."""

    def __init__(self, occupancy: Occupancy, candidates: Sequence[Space]) -> None:
        # Group the candidates by their periods: one test per group, not per space.
        self.groups: dict[Periods, list[tuple[int, Space]]] = {}
        for order, space in enumerate(candidates):
            periods = occupancy.periods.get(space.id, ())
            self.groups.setdefault(periods, []).append((order, space))

    def at(self, start: time, end: time, limit: int | None = None) -> list[Space]:
        """The free candidates in [start, end), the first `limit` of them in candidate order."""
        first, last = minute(start), minute(end)
        found: list[tuple[int, Space]] = []
        for periods, members in self.groups.items():
            if not _overlaps(periods, first, last):
                found.extend(members[:limit] if limit else members)
        found.sort(key=lambda pair: pair[0])
        return [space for _, space in (found[:limit] if limit else found)]
