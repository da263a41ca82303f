"""The app factory, the layering rules, health, and the init-db / chat commands."""

from __future__ import annotations

import ast
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.core.db import Databases
from tests.conftest import python

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return python("-c", code, env=env, timeout=60)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return python("-m", "bot", *args, env=env, timeout=60)


def test_importing_reads_no_settings_and_opens_nothing(tmp_path: Path) -> None:
    database = tmp_path / "never.sqlite3"
    code = (
        "import sys, bot, bot.app, bot.wechat.webhook, bot.wechat.pipeline, handlers.registry\n"
        "print('ok')\n"
    )

    env = {**os.environ, "LIBBOT_DATABASE": str(database), "LIBBOT_MP_AES_KEY": "bad"}
    result = run_python(code, env)
    # A bad setting would raise if anything read settings at import time.
    assert result.returncode == 0, result.stderr
    assert not database.exists()


def test_importing_bot_does_not_import_flask_or_wechatpy() -> None:
    result = run_python(
        "import sys, bot, bot.core.values, bot.core.errors\n"
        "print(sorted(m for m in ('flask', 'wechatpy') if m in sys.modules))"
    )
    assert result.stdout.strip() == "[]", result.stderr


TRANSPORT = {
    "flask",
    "wechatpy",
    "werkzeug",
    "xml",
    "defusedxml",
    "xmltodict",
    "gunicorn",
}
# Capabilities only enqueue: they never call WeChat (or anything else) themselves. (The
# intent layer may: intents/remote.py asks a Rasa server.)
NETWORK = {"requests", "urllib", "http"}
SENDING = {
    "bot.app",
    "bot.wechat.webhook",
    "bot.wechat.protocol",
    "bot.outbound.sender",
    "bot.outbound.channels",
    "bot.outbound.api",
}
# A capability's staff pages and API endpoints are web code for the console: Flask is theirs,
# WeChat's transport never is.
STAFF_WEB = {"flask", "werkzeug", "flask_smorest", "marshmallow"}


def _is_staff_web(path: Path) -> bool:
    return path.stem.startswith("console") or path.stem in ("endpoints", "web")


@pytest.mark.parametrize(
    "path", sorted([*ROOT.glob("handlers/**/*.py"), *ROOT.glob("intents/*.py")]), ids=str
)
def test_handlers_and_intents_never_import_transport(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module != "urllib.parse":  # quoting a file name is no network access
                imported.add(node.module.split(".")[0])
            if node.module.startswith("bot"):
                # bot's plain-value modules are fine; its transport modules are not.
                assert node.module not in SENDING, path
    forbidden = TRANSPORT - STAFF_WEB if _is_staff_web(path) else TRANSPORT
    assert not imported & forbidden, f"{path} imports {imported & forbidden}"
    if path.parts[-2] != "intents":
        assert not imported & NETWORK, f"{path} imports {imported & NETWORK}"


def test_factory_creates_every_table(app: Any) -> None:
    db = app.extensions["guanban"].services.db()
    tables = set(db.table_names())
    assert {"users", "inbound", "dialog_state", "outbox", "tickets"} <= tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_factory_accepts_config_and_two_apps_share_a_database(make_app: Any) -> None:
    first = make_app()
    second = make_app()  # same file: migrations already applied, nothing fails
    assert first.extensions["guanban"].settings.database == (
        second.extensions["guanban"].settings.database
    )
    assert first.config["TESTING"] is True
    assert first.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_healthz_ok(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_failing_database(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Databases) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Databases, "ping", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_unknown_path_is_a_plain_404(client: Any) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert b"Traceback" not in response.data


def test_init_db_is_idempotent_and_concurrent(tmp_path: Path) -> None:

    env = {**os.environ, "LIBBOT_DATABASE": str(tmp_path / "cli.sqlite3")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "init-db"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    applied = sorted(int(out.split(": ")[1].split()[0]) for out, _ in outputs)
    assert applied[0] == 0 and applied[-1] > 0  # exactly one process did the work
    assert applied.count(0) == 2
    again = cli("init-db", env=env)
    assert "0 migration(s) applied" in again.stdout


def test_init_db_with_demo_data(tmp_path: Path) -> None:

    env = {**os.environ, "LIBBOT_DATABASE": str(tmp_path / "demo.sqlite3")}
    result = cli("init-db", "--demo-data", env=env)
    assert result.returncode == 0, result.stderr
    assert "demo data: 4 reader(s) added" in result.stdout
    db = sqlite3.connect(tmp_path / "demo.sqlite3")
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM tickets").fetchone()[0] == 3
    again = cli("init-db", "--demo-data", env=env)
    assert "demo data: 0 reader(s) added" in again.stdout


def test_bad_setting_is_one_line_not_a_traceback(tmp_path: Path) -> None:

    env = {
        **os.environ,
        "LIBBOT_DATABASE": str(tmp_path / "x.sqlite3"),
        "LIBBOT_WORK_AES_KEY": "too-short",
    }
    result = cli("init-db", env=env)
    assert result.returncode == 2
    assert "LIBBOT_WORK_AES_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("channel", "mode"), [("mp", "safe"), ("mp", "compatible"), ("mp", "plain"), ("work", "safe")]
)
def test_chat_cli_talks_to_a_served_bot(
    served_bot: Any, tmp_path: Path, channel: str, mode: str
) -> None:
    from tests.conftest import bot_env

    url = served_bot()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--url", url, "--channel", channel, "--mode", mode],
        cwd=ROOT,
        env=bot_env(tmp_path),
        input="你好\n/click HOURS\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    replies = [line for line in result.stdout.splitlines() if line.startswith("馆伴>")]
    assert "你好呀" in replies[0]
    assert "开馆" in result.stdout or "闭馆" in result.stdout
