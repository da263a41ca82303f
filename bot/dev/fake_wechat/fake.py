"""FakeWeChat: the Python face of the fake platform (start, stop, inject, inspect)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from bot.dev.fake_wechat.records import Call, Delivered, Dropped, Fault
from bot.dev.fake_wechat.state import State, since


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class FakeWeChat:
    """Tencent's 公众号 and WeCom APIs on one loopback base URL, for tests and the demo.

    `clock` gives seconds (time.time by default); token expiry, the 24-hour clientmsgid
    window, WeCom's duplicate check and its 30-a-minute limit all read it.
    `secrets` ({appid: secret}) and `corp_secrets` ({corpid: secret or secrets}) make the
    token endpoints check credentials; without them any credential is accepted.
    `refetch_grace`: seconds an old 公众号 token keeps working after a new fetch (0 here;
    Tencent documents up to 5 minutes).
    """

    def __init__(
        self,
        token_ttl: float = 7200,
        clock: Callable[[], float] = time.time,
        *,
        secrets: dict[str, str] | None = None,
        corp_secrets: dict[str, Any] | None = None,
        refetch_grace: float = 0.0,
    ) -> None:
        self.state = State(token_ttl, clock, secrets, corp_secrets, refetch_grace)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; returns the base URL, e.g. "http://127.0.0.1:50123"."""
        from bot.dev.fake_wechat.server import FakeServer

        if not is_loopback(host):
            raise ValueError(f"the fake WeChat server only listens on loopback, not {host!r}")
        if self._server is not None:
            raise RuntimeError("already started")
        server = FakeServer(host, port, self)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.name = "fake-wechat"
        thread.start()
        self._server, self._thread = server, thread
        bound_host, bound_port = server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeWeChat:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steering ----------------------------------------------------------------------------

    def inject(
        self,
        path: str | None = None,
        *,
        errcode: int | None = None,
        errmsg: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
        status: int | None = None,
        times: int | None = 1,
        match: dict[str, Any] | None = None,
    ) -> None:
        """Make the next `times` calls to `path` (None: any path) misbehave.

        `delay` sleeps first; then `drop` closes the connection without an answer, or
        `status` answers that HTTP status, or `errcode` answers {"errcode", "errmsg"} and
        does nothing else. With only `delay`, the call is then answered normally.
        `match` limits the fault to calls whose JSON body (or else query) has these values.
        `times=None` keeps the fault until `clear_faults()` or `reset()`.
        """
        fault = Fault(path, errcode, errmsg, float(delay), bool(drop), status, times, match)
        with self.state.lock:
            self.state.faults.append(fault)

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 from now on."""
        with self.state.lock:
            self.state.tokens.expire_all()

    def invalidate_tokens(self) -> None:
        """Every token issued so far answers 40001 from now on."""
        with self.state.lock:
            self.state.tokens.invalidate_all()

    def set_users(
        self,
        unfollowed: Iterable[str] = (),
        outside_window: Iterable[str] = (),
        wecom_members: Iterable[str] | None = None,
        followers: Iterable[str] | None = None,
    ) -> None:
        """Replace the picture of the readers (each call sets all four).

        `unfollowed` openids get 43004 (and are skipped by mass sends); `outside_window`
        openids get 45015 from customer-service messages. `wecom_members`: the WeCom
        directory (None: every userid exists). `followers`: who a mass send to all
        reaches (None: everyone in any tag).
        """
        with self.state.lock:
            self.state.set_users(unfollowed, outside_window, wecom_members, followers)

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (on top of the injected clock)."""
        with self.state.lock:
            self.state.offset += seconds

    def reset(self) -> None:
        """Forget everything: calls, messages, faults, tokens, users, tags, menus, limits."""
        with self.state.lock:
            self.state.reset()

    # -- inspection --------------------------------------------------------------------------

    def calls(self, path: str | None = None, since_seq: int = 0) -> list[Call]:
        with self.state.lock:
            records = since(self.state.calls, since_seq)
        return [c for c in records if path is None or c.path == path]

    def messages(
        self, to: str | None = None, channel: str | None = None, since_seq: int = 0
    ) -> list[Delivered]:
        with self.state.lock:
            records = since(self.state.messages, since_seq)
        return [
            m
            for m in records
            if (to is None or m.to == to) and (channel is None or m.channel == channel)
        ]

    def dropped(
        self,
        to: str | None = None,
        channel: str | None = None,
        reason: str | None = None,
        since_seq: int = 0,
    ) -> list[Dropped]:
        with self.state.lock:
            records = since(self.state.drops, since_seq)
        return [
            d
            for d in records
            if (to is None or d.to == to)
            and (channel is None or d.channel == channel)
            and (reason is None or d.reason == reason)
        ]

    def token_fetches(self, account: str | None = None) -> int:
        """Tokens handed out ("mp:<appid>" / "work:<corpid>"; None: all accounts)."""
        with self.state.lock:
            fetches = self.state.tokens.fetches
            return fetches[account] if account is not None else sum(fetches.values())
