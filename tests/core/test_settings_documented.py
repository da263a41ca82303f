"""Every setting is documented in README.md, and README documents no setting that is gone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.settings import PREFIX, Settings, SettingsError, documented_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
VARIABLE = re.compile(r"\bLIBBOT_[A-Z0-9_]+\b")
SOURCES = [
    *ROOT.glob("bot/**/*.py"),
    *ROOT.glob("handlers/**/*.py"),
    *ROOT.glob("intents/**/*.py"),
    *ROOT.glob("bench/**/*.py"),
    ROOT / "Makefile",
]


def readme_table_variables() -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\| `(LIBBOT_[A-Z0-9_]+)` \|", README, re.M)}


@pytest.mark.parametrize("variable", [row[0] for row in documented_settings()])
def test_every_setting_is_in_the_readme_table(variable: str) -> None:
    assert variable in readme_table_variables(), f"{variable} is not documented in README.md"


@pytest.mark.parametrize("variable", [row[0] for row in documented_settings()])
def test_every_setting_has_a_docstring(variable: str) -> None:
    docs = {name: doc for name, _, doc in documented_settings()}
    assert len(docs[variable]) > 10


def test_readme_documents_only_real_settings() -> None:
    real = {row[0] for row in documented_settings()}
    assert readme_table_variables() - real == set()


def test_code_uses_only_documented_variables() -> None:
    used = {v for path in SOURCES for v in VARIABLE.findall(path.read_text(encoding="utf-8"))}
    undocumented = used - readme_table_variables()
    assert not undocumented, f"used in code but not in README: {sorted(undocumented)}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LIBBOT_MP_AES_KEY": "short", "LIBBOT_MP_APPID": "wx1"}, "LIBBOT_MP_AES_KEY"),
        ({"LIBBOT_WORK_AES_KEY": "x" * 44}, "LIBBOT_WORK_AES_KEY"),
        ({"LIBBOT_MP_AES_KEY": "a" * 43}, "LIBBOT_MP_APPID"),
        ({"LIBBOT_REPLY_BUDGET": "6"}, "LIBBOT_REPLY_BUDGET"),
        ({"LIBBOT_REPLY_BUDGET": "soon"}, "LIBBOT_REPLY_BUDGET"),
        ({"LIBBOT_TIMESTAMP_TOLERANCE": "5min"}, "LIBBOT_TIMESTAMP_TOLERANCE"),
        ({"LIBBOT_DEMO": "perhaps"}, "LIBBOT_DEMO"),
        ({"LIBBOT_NLU_THRESHOLD": "1.5"}, "LIBBOT_NLU_THRESHOLD"),
        ({"LIBBOT_NLU_TIMEOUT": "0"}, "LIBBOT_NLU_TIMEOUT"),
        ({"LIBBOT_NLU_URL": "rasa:5005"}, "LIBBOT_NLU_URL"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_settings_read_prefix_and_types() -> None:
    settings = Settings.from_env(
        {"LIBBOT_TIMESTAMP_TOLERANCE": "60", "LIBBOT_DEMO": "yes", "LIBBOT_REPLY_BUDGET": "2.5"}
    )
    assert settings.timestamp_tolerance == 60
    assert settings.demo is True
    assert settings.reply_budget == 2.5
    # Demo mode fills in the public demo keys, never over keys that were set.
    assert settings.mp_token and len(settings.mp_aes_key) == 43
    own = Settings.from_env({"LIBBOT_DEMO": "1", "LIBBOT_MP_TOKEN": "mine"})
    assert own.mp_token == "mine"
    assert PREFIX == "LIBBOT_"
