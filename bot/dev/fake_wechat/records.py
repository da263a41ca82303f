"""What the fake remembers: calls, deliveries, drops and injected faults.

Records are small slotted dataclasses that share the parsed request body instead of copying
it, so a run of 50,000 messages costs a few tens of megabytes. Nobody mutates a body or a
response after it is recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EMPTY: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Call:
    """One request to a WeChat endpoint, as answered (or dropped)."""

    seq: int
    time: float
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON, or None (GET, empty or malformed body)
    status: int | None  # HTTP status written; None when the connection was dropped
    response: dict[str, Any] | None  # the JSON answer; None for drop / injected status
    account: str | None  # "mp:<appid>" / "work:<corpid>", None when no valid token
    fault: str | None  # "errcode", "delay", "drop", "status" (joined by "+"), "duplicate",
    # "rate_limited"; None for an ordinary answer
    dropped: tuple[str, ...] = EMPTY  # recipients silently not delivered on this call

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["dropped"] = list(self.dropped)
        return data


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message that reached one recipient."""

    seq: int
    channel: str  # "mp" or "work"
    to: str  # openid, WeCom userid, or "@all" / "party:<id>" / "tag:<id>" (no directory)
    kind: str  # msgtype, or "template"
    content: dict[str, Any]  # the request's JSON body (shared between recipients)
    via: str  # the API path
    call_seq: int
    time: float

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "channel": self.channel,
            "to": self.to,
            "kind": self.kind,
            "content": self.content,
            "via": self.via,
            "call_seq": self.call_seq,
            "time": self.time,
        }


@dataclass(frozen=True, slots=True)
class Dropped:
    """A recipient the platform answered ok for but did not deliver to."""

    seq: int
    channel: str
    to: str
    kind: str
    reason: str  # "rate_limit" (WeCom 30/min per member) or "unfollowed" (mass send)
    via: str
    call_seq: int
    time: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Fault:
    """An injected misbehaviour for the next `times` matching calls (None: until cleared)."""

    path: str | None  # None: any WeChat path
    errcode: int | None = None
    errmsg: str | None = None
    delay: float = 0.0
    drop: bool = False
    status: int | None = None
    times: int | None = 1
    match: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.errcode is None and not self.delay and not self.drop and self.status is None:
            raise ValueError("a fault needs errcode, delay, drop or status")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or None for every call)")
        if self.match is not None and not isinstance(self.match, dict):
            raise ValueError("match must be an object")

    def matches(self, path: str, query: dict[str, str], body: Any) -> bool:
        if self.path is not None and self.path != path:
            return False
        for name, wanted in (self.match or {}).items():
            if isinstance(body, dict) and name in body:
                value = body[name]
            elif name in query:
                value = query[name]
            else:
                return False
            if value != wanted and str(value) != str(wanted):
                return False
        return True

    @property
    def label(self) -> str:
        """What the fault did: an optional delay, then drop > status > errcode."""
        parts = ["delay"] if self.delay > 0 else []
        if self.drop:
            parts.append("drop")
        elif self.status is not None:
            parts.append("status")
        elif self.errcode is not None:
            parts.append("errcode")
        return "+".join(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
