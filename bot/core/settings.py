"""Settings from the environment (LIBBOT_*), read only when an app or command asks.

Secrets and deployment choices live here; the library's own facts (hours, menu, spaces) live
in the TOML file named by LIBBOT_LIBRARY_CONFIG. Every setting is listed in SETTINGS with its
documentation, and tests/test_settings_documented.py checks that README.md documents each one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "LIBBOT_"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = PROJECT_ROOT / "instance"

# Keys used by `make run` (demo mode) when the environment sets none. They are public on
# purpose: demo mode must never face real WeChat traffic.
DEMO_DEFAULTS: dict[str, str] = {
    "mp_token": "guanban-demo-token",
    "mp_appid": "wxd0e1a2b3c4d5e6f7",
    "mp_secret": "demo-secret",
    "mp_aes_key": "Z3VhbmJhbi1kZW1vLWtleS0wMTIzNDU2Nzg5YWJjZGU",
    "work_corp_id": "ww0d1e2m3o4guanban",
    "work_agent_id": "1000002",
    "work_token": "guanban-demo-work-token",
    "work_aes_key": "Z3VhbmJhbi13b3JrLWRlbW8ta2V5LTAxMjM0NTY3ODk",
    "work_secret": "demo-work-secret",
}


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Deployment settings; each field is read from "LIBBOT_" + its name in upper case."""

    database: str = field(
        default=str(INSTANCE_DIR / "guanban.sqlite3"),
        metadata={"doc": "SQLite database file; its folder is created when missing."},
    )
    library_config: str = field(
        default="",
        metadata={
            "doc": "The library's TOML file (hours, calendar, menu). Default: "
            "config/library.toml if present, else config/library.example.toml."
        },
    )
    mp_token: str = field(default="", metadata={"doc": "公众号 Token (服务器配置 → 令牌)."})
    mp_appid: str = field(
        default="",
        metadata={"doc": "公众号 AppID; required with an AES key (encrypted messages carry it)."},
    )
    mp_secret: str = field(default="", metadata={"doc": "公众号 AppSecret (outbound API)."})
    mp_aes_key: str = field(
        default="",
        metadata={
            "doc": "公众号 EncodingAESKey (43 characters). Optional: enables the compatible "
            "and safe (encrypted) modes; replies are encrypted whenever the request was."
        },
    )
    work_corp_id: str = field(default="", metadata={"doc": "企业微信 CorpID (企业ID)."})
    work_agent_id: str = field(default="", metadata={"doc": "企业微信 app AgentId."})
    work_token: str = field(default="", metadata={"doc": "企业微信 app callback Token."})
    work_aes_key: str = field(
        default="", metadata={"doc": "企业微信 app callback EncodingAESKey (43 characters)."}
    )
    work_secret: str = field(default="", metadata={"doc": "企业微信 app Secret (outbound API)."})
    wechat_api_base: str = field(
        default="https://api.weixin.qq.com",
        metadata={
            "doc": "Where outbound WeChat API calls go; the project's fake server in demo "
            "mode and tests."
        },
    )
    work_api_base: str = field(
        default="https://qyapi.weixin.qq.com",
        metadata={
            "doc": "Where outbound WeCom API calls go (WeCom's host differs from the 公众号's); "
            "the fake server in demo mode and tests."
        },
    )
    mp_send_rate: float = field(
        default=20.0,
        metadata={"doc": "公众号 messages a second the sender makes at most (0: no limit)."},
    )
    work_send_rate: float = field(
        default=10.0,
        metadata={
            "doc": "WeCom message/send calls a second the sender makes at most (0: no limit)."
        },
    )
    work_member_per_minute: int = field(
        default=30,
        metadata={
            "doc": "WeCom messages a minute to one member, at most 30 (WeCom silently drops "
            "the excess)."
        },
    )
    send_attempts: int = field(
        default=6,
        metadata={"doc": "Attempts for a message that fails for a passing reason (then failed)."},
    )
    http_timeout: float = field(
        default=5.0,
        metadata={"doc": "Seconds every outbound WeChat API call may take."},
    )
    timestamp_tolerance: int = field(
        default=300,
        metadata={"doc": "Seconds a callback's timestamp may differ from now (else 403)."},
    )
    reply_budget: float = field(
        default=3.5,
        metadata={
            "doc": "Seconds a handler may take before the reader gets a holding reply and "
            "the result goes to the outbox (WeChat gives up after 5 s)."
        },
    )
    workers: int = field(
        default=0,
        metadata={"doc": "Worker processes for `serve` (0: 2 x cores + 1)."},
    )
    handler_threads: int = field(
        default=8, metadata={"doc": "Handler threads per process (the deadline pool)."}
    )
    dialog_idle_minutes: int = field(
        default=15, metadata={"doc": "Minutes after which an unfinished dialog is forgotten."}
    )
    model_dir: str = field(
        default=str(INSTANCE_DIR / "models"),
        metadata={
            "doc": "Where the trained intent model is cached (trained at first use when "
            "missing, about 8 s)."
        },
    )
    labels_dir: str = field(
        default=str(PROJECT_ROOT / "intents" / "data" / "labelled"),
        metadata={
            "doc": "Where staff labels are exported as training data (one <intent>.txt per "
            "intent); `python -m intents train` reads it."
        },
    )
    nlu_threshold: float = field(
        default=0.45,
        metadata={"doc": "Below this confidence the bot asks which of two intents was meant."},
    )
    nlu_url: str = field(
        default="",
        metadata={
            "doc": "A Rasa server (e.g. http://127.0.0.1:5005) whose /model/parse replaces the "
            "built-in classifier; the crisis check stays local. Unset: built-in only."
        },
    )
    nlu_timeout: float = field(
        default=1.0,
        metadata={"doc": "Seconds to wait for the Rasa server before using the built-in layer."},
    )
    secret_key: str = field(
        default="",
        metadata={
            "doc": "Secret for hashing user ids in logs and signing cookies. Default: a "
            "random key kept in instance/secret_key."
        },
    )
    actions_token: str = field(
        default="",
        metadata={
            "doc": "Token a Rasa server must send (?token=) to POST /actions/webhook. "
            "Unset: only loopback callers are served."
        },
    )
    cookie_secure: bool = field(
        default=True,
        metadata={
            "doc": "Console cookies only over HTTPS (turn off only for a console on plain "
            "http://localhost; demo mode turns it off)."
        },
    )
    session_hours: int = field(
        default=8, metadata={"doc": "Hours a console login lasts (a working day)."}
    )
    demo: bool = field(
        default=False,
        metadata={
            "doc": "Demo mode: public demo keys when none are set, the /dev/chat simulator, "
            "demo data. Never on a server that faces WeChat."
        },
    )
    log_level: str = field(default="INFO", metadata={"doc": "Logging level."})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read LIBBOT_* from `environ` (default os.environ); keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, f.type, raw)
        values.update(overrides)
        settings = cls(**values)
        if settings.demo:
            settings = settings.with_demo_defaults()
        settings.validate()
        return settings

    def with_demo_defaults(self) -> Settings:
        missing = {k: v for k, v in DEMO_DEFAULTS.items() if not getattr(self, k)}
        # The demo's console runs on plain http://127.0.0.1: a Secure cookie would never
        # come back.
        return replace(self, **missing, cookie_secure=False)

    def validate(self) -> None:
        for name in ("mp_aes_key", "work_aes_key"):
            value = getattr(self, name)
            if value and len(value) != 43:
                raise SettingsError(
                    f"{PREFIX}{name.upper()}: an EncodingAESKey has 43 characters, got {len(value)}"
                )
        if self.mp_aes_key and not self.mp_appid:
            raise SettingsError(
                f"{PREFIX}MP_APPID: required with {PREFIX}MP_AES_KEY (encrypted messages "
                "carry the AppID)"
            )
        if self.reply_budget <= 0 or self.reply_budget >= 5:
            raise SettingsError(f"{PREFIX}REPLY_BUDGET: must be between 0 and 5 seconds")
        if not 1 <= self.work_member_per_minute <= 30:
            raise SettingsError(f"{PREFIX}WORK_MEMBER_PER_MINUTE: must be between 1 and 30")
        if self.mp_send_rate < 0 or self.work_send_rate < 0:
            raise SettingsError(f"{PREFIX}MP_SEND_RATE/WORK_SEND_RATE: must not be negative")
        if self.send_attempts < 1:
            raise SettingsError(f"{PREFIX}SEND_ATTEMPTS: must be at least 1")
        if not 0 < self.http_timeout <= 60:
            raise SettingsError(f"{PREFIX}HTTP_TIMEOUT: must be more than 0 and at most 60")
        if not 0 <= self.nlu_threshold < 1:
            raise SettingsError(f"{PREFIX}NLU_THRESHOLD: must be between 0 and 1")
        if not 0 < self.nlu_timeout <= 4:
            raise SettingsError(f"{PREFIX}NLU_TIMEOUT: must be more than 0 and at most 4 seconds")
        if self.nlu_url and not self.nlu_url.startswith(("http://", "https://")):
            raise SettingsError(f"{PREFIX}NLU_URL: expected an http:// or https:// URL")

    @property
    def mp_enabled(self) -> bool:
        return bool(self.mp_token)

    @property
    def work_enabled(self) -> bool:
        return bool(self.work_token and self.work_aes_key and self.work_corp_id)

    def library_config_path(self) -> Path:
        if self.library_config:
            return Path(self.library_config)
        own = PROJECT_ROOT / "config" / "library.toml"
        return own if own.exists() else PROJECT_ROOT / "config" / "library.example.toml"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept beside the database."""
        if self.secret_key:
            return self.secret_key
        path = Path(self.database).resolve().parent / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when two workers start at once, exactly one writes the key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        return path.read_text().strip()


def documented_settings() -> list[tuple[str, str, str]]:
    """(variable, default, doc) for every setting, in declaration order."""
    rows = []
    for f in fields(Settings):
        default = f.default if f.default is not None else ""
        rows.append((PREFIX + f.name.upper(), str(default), f.metadata.get("doc", "")))
    return rows


def _convert(name: str, type_name: Any, raw: str) -> Any:
    type_name = str(type_name)
    try:
        if type_name == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name.upper()}: expected {type_name}, got {raw!r}") from None
    return raw
