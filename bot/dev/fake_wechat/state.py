"""Everything the fake platform knows, behind one lock.

Handlers (bot/fake_wechat/mp.py, work.py) run with the lock held and talk to the world only
through a `Ctx`: the request, the clock reading, and `deliver`/`drop` for what reaches whom.
"""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.dev.fake_wechat.records import Call, Delivered, Dropped, Fault
from bot.dev.fake_wechat.tokens import Token, Tokens

SYSTEM_TAGS = {2: "星标组"}  # 0, 1 and 2 are reserved; 2 is the one tags/get lists


@dataclass(slots=True)
class TagBook:
    """One 公众号's tags: id -> name, and id -> members in tagging order."""

    names: dict[int, str] = field(default_factory=lambda: dict(SYSTEM_TAGS))
    members: dict[int, dict[str, None]] = field(
        default_factory=lambda: {tag: {} for tag in SYSTEM_TAGS}
    )
    next_id: int = 100

    def tags_of(self, openid: str) -> list[int]:
        return [tag for tag, members in self.members.items() if openid in members]


@dataclass(slots=True)
class Ctx:
    """One request being answered."""

    state: State
    path: str
    query: dict[str, str]
    body: Any
    raw: bytes
    now: float
    call_seq: int
    token: Token | None = None
    account: str | None = None
    faults: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def channel(self) -> str:
        assert self.token is not None
        return self.token.channel

    def deliver(self, to: str, kind: str) -> None:
        state = self.state
        state.messages.append(
            Delivered(
                next(state.message_seq),
                self.channel,
                to,
                kind,
                self.body,
                self.path,
                self.call_seq,
                self.now,
            )
        )

    def drop(self, to: str, kind: str, reason: str) -> None:
        state = self.state
        self.dropped.append(to)
        state.drops.append(
            Dropped(
                next(state.drop_seq),
                self.channel,
                to,
                kind,
                reason,
                self.path,
                self.call_seq,
                self.now,
            )
        )


class State:
    def __init__(
        self,
        token_ttl: float,
        clock: Callable[[], float],
        secrets: dict[str, str] | None,
        corp_secrets: dict[str, str | Iterable[str]] | None,
        refetch_grace: float,
    ) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.token_ttl = token_ttl
        self.refetch_grace = refetch_grace
        self.secrets = dict(secrets) if secrets is not None else None
        self.corp_secrets = (
            {
                corp: {value} if isinstance(value, str) else set(value)
                for corp, value in corp_secrets.items()
            }
            if corp_secrets is not None
            else None
        )
        # Sequence numbers never restart, so a poller's since_seq survives a reset.
        self.call_seq = itertools.count(1)
        self.message_seq = itertools.count(1)
        self.drop_seq = itertools.count(1)
        self.ids = itertools.count(1_000_000_001)  # msgid / msg_id / msg_data_id
        self.reset()

    def reset(self) -> None:
        self.offset = 0.0
        self.tokens = Tokens(self.token_ttl, self.refetch_grace)
        self.calls: list[Call] = []
        self.messages: list[Delivered] = []
        self.drops: list[Dropped] = []
        self.faults: list[Fault] = []
        self.unfollowed: frozenset[str] = frozenset()
        self.outside_window: frozenset[str] = frozenset()
        self.wecom_members: dict[str, str] | None = None  # lower-case id -> id as given
        self.followers: list[str] | None = None
        self.tags: dict[str, TagBook] = {}
        self.menus: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self.mass_ids: dict[str, dict[str, tuple[float, int]]] = {}
        self.work_sent: dict[tuple[str, str], tuple[float, str]] = {}
        self.work_rate: dict[tuple[str, str, str], deque[float]] = {}

    def now(self) -> float:
        return self.clock() + self.offset

    def set_users(
        self,
        unfollowed: Iterable[str] = (),
        outside_window: Iterable[str] = (),
        wecom_members: Iterable[str] | None = None,
        followers: Iterable[str] | None = None,
    ) -> None:
        for name, value in (
            ("unfollowed", unfollowed),
            ("outside_window", outside_window),
            ("wecom_members", wecom_members),
            ("followers", followers),
        ):
            if isinstance(value, str | bytes):
                raise TypeError(f"{name} is a list of ids, not one string")
        self.unfollowed = frozenset(unfollowed)
        self.outside_window = frozenset(outside_window)
        self.wecom_members = (
            {member.lower(): member for member in wecom_members}
            if wecom_members is not None
            else None
        )
        self.followers = list(followers) if followers is not None else None

    def tag_book(self, account: str) -> TagBook:
        book = self.tags.get(account)
        if book is None:
            book = self.tags[account] = TagBook()
        return book

    def take_fault(self, path: str, query: dict[str, str], body: Any) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.matches(path, query, body):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        del self.faults[index]
                return fault
        return None


def since(records: list[Any], since_seq: int) -> list[Any]:
    """The records with seq > since_seq (records are in seq order)."""
    if since_seq <= 0:
        return list(records)
    return records[bisect_right(records, since_seq, key=lambda record: record.seq) :]
