"""Shared fixtures: real SQLite files in tmp_path, real servers on 127.0.0.1, no other network.

- `make_app(**overrides)` builds an app on a fresh database with test keys (公众号 safe-mode
  capable and WeCom configured); `app`/`client` are the default one.
- `mp_peer`, `mp_plain_peer`, `work_peer` play WeChat with the same keys.
- `served_bot(**env)` starts `python -m bot serve` in a subprocess and yields its base URL.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.core.values import MP, WORK
from bot.dev.callback_client import WeChatPeer
from bot.wechat.protocol import Account

ROOT = Path(__file__).resolve().parents[1]
# The `browser` fixture (real Chromium) for every browser test.
pytest_plugins = ("tests.browser_support",)

TEST_KEYS = {
    "mp_token": "test-mp-token",
    "mp_appid": "wx1234567890abcdef",
    "mp_aes_key": "dGVzdC1tcC1hZXMta2V5LTMyLWJ5dGVzLWxvbmctISE",
    "work_corp_id": "ww_test_corp_0001",
    "work_agent_id": "1000002",
    "work_token": "test-work-token",
    "work_aes_key": "dGVzdC13b3JrLWFlcy1rZXktMzItYnl0ZXMtbG9uZyE",
}


# -- no network beyond loopback --------------------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise RuntimeError(f"tests must not reach beyond loopback (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the LIBBOT_* settings they set themselves."""
    for name in list(os.environ):
        if name.startswith("LIBBOT_"):
            monkeypatch.delenv(name)


# -- apps ------------------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand: `make_app(clock=Clock(now))`, then `clock.now = …` or
    `clock.advance(minutes=15)`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Any]:
    from bot import create_app

    def build(**overrides: Any) -> Any:
        config: dict[str, Any] = {
            "TESTING": True,
            "database": str(tmp_path / "guanban.sqlite3"),
            "secret_key": "test-secret",
            **TEST_KEYS,
        }
        config.update(overrides)
        return create_app(config)

    return build


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def mp_account(keys: dict[str, str] = TEST_KEYS) -> Account:
    return Account(MP, keys["mp_token"], keys["mp_aes_key"], keys["mp_appid"])


def work_account(keys: dict[str, str] = TEST_KEYS) -> Account:
    return Account(
        WORK,
        keys["work_token"],
        keys["work_aes_key"],
        keys["work_corp_id"],
        keys["work_agent_id"],
    )


@pytest.fixture
def mp_peer() -> WeChatPeer:
    return WeChatPeer(mp_account(), mode="safe")


@pytest.fixture
def mp_plain_peer() -> WeChatPeer:
    return WeChatPeer(mp_account(), mode="plain")


@pytest.fixture
def mp_compatible_peer() -> WeChatPeer:
    return WeChatPeer(mp_account(), mode="compatible")


@pytest.fixture
def work_peer() -> WeChatPeer:
    return WeChatPeer(work_account())


def post(client: Any, callback: Any) -> Any:
    """Post a peer's callback through a Flask test client."""
    return client.post(callback.url_path, data=callback.body.encode(), content_type="text/xml")


def python(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in the checkout, as a command line would."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- real servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(tmp_path: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIBBOT_")}
    base.update({f"LIBBOT_{k.upper()}": v for k, v in TEST_KEYS.items()})
    base.update(
        LIBBOT_DATABASE=str(tmp_path / "served.sqlite3"),
        LIBBOT_SECRET_KEY="test-secret",
        PYTHONPATH=str(ROOT),
    )
    base.update({f"LIBBOT_{k.upper()}": v for k, v in env.items()})
    return base


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


@pytest.fixture
def served_bot(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start `python -m bot serve` (extra args and LIBBOT_ env given per call)."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, **env: str) -> str:
        port = free_port()
        log = open(tmp_path / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed with process
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=bot_env(tmp_path, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        return url

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# -- the fake WeChat API and outbound delivery ------------------------------------------------

DELIVERY_KEYS = {"mp_secret": "test-mp-secret", "work_secret": "test-work-secret"}


@pytest.fixture
def fake_wechat() -> Iterator[Any]:
    """The project's fake WeChat API server on 127.0.0.1 (a fresh one per test)."""
    from bot.dev.fake_wechat import FakeWeChat

    fake = FakeWeChat()
    fake.start()
    yield fake
    fake.stop()


def delivery_settings(tmp_path: Path, fake_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for a bot that sends to the fake server (both accounts configured)."""
    return {
        "database": str(tmp_path / "guanban.sqlite3"),
        "secret_key": "test-secret",
        **TEST_KEYS,
        **DELIVERY_KEYS,
        "wechat_api_base": fake_url,
        "work_api_base": fake_url,
        **overrides,
    }


# -- the staff console and API ------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF_PASSWORD = "correct-horse-battery"


class Console:
    """A browser-like client of the console: logs in, keeps the CSRF token, posts forms; and
    an API client with bearer tokens."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = app.test_client()
        self.token = ""

    @property
    def services(self) -> Any:
        return self.app.extensions["guanban"].services

    def add_staff(self, username: str, role: str = "staff", password: str = STAFF_PASSWORD) -> Any:
        from bot.core import staff

        return staff.create(self.services.db(), username, password, role, self.services.now())

    def api_token(self, username: str) -> str:
        from bot.core import staff

        account = staff.by_username(self.services.db(), username)
        assert account is not None
        return staff.create_token(self.services.db(), account.id, "tests", self.services.now())[1]

    def csrf(self, page: str = "/console/login") -> str:
        found = CSRF_FIELD.search(self.client.get(page).get_data(as_text=True))
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def login(self, username: str, password: str = STAFF_PASSWORD) -> Any:
        response = self.post("/console/login", {"username": username, "password": password})
        self.token = ""
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form post with the session's CSRF token, as the page's form would send it."""
        form = {"csrf_token": self.csrf(), **(data or {})}
        return self.client.post(url, data=form, **kwargs)

    def api(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(url, method=method, headers=headers, **kwargs)


@pytest.fixture
def console(make_app: Callable[..., Any]) -> Console:
    """A console on a fresh database, cookies allowed over the test client's plain http."""
    return Console(make_app(cookie_secure=False))
