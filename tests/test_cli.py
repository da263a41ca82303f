"""`python -m bot`: the commands a capability adds (`Capability.commands`) are offered and
run like the shell's own, and the light commands do not load the capabilities."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.__main__ import SHELL_COMMANDS, build_parser, main
from bot.core.errors import StaffError
from handlers.kit.capability import Capability, Command
from handlers.kit.services import Services
from handlers.registry import CAPABILITIES
from tests.conftest import python

RAN: list[tuple[Services, argparse.Namespace]] = []


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shelf")
    parser.add_argument("--times", type=int, default=1)


def _count(services: Services, args: argparse.Namespace) -> int:
    if args.shelf == "nowhere":
        raise StaffError("no shelf nowhere in the library config")
    RAN.append((services, args))
    print(f"counted shelf {args.shelf} {args.times} time(s)")
    return 0


SHELVES = Capability(
    name="shelves",
    commands=(Command("count-shelf", "count the books on a shelf", _arguments, _count),),
)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("LIBBOT_DATABASE", str(path))
    monkeypatch.setenv("LIBBOT_SECRET_KEY", "test-secret")
    RAN.clear()
    return path


def test_a_capabilitys_command_runs_with_its_arguments_and_the_services(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capabilities = (*CAPABILITIES, SHELVES)
    assert main(["count-shelf", "B2", "--times", "3"], capabilities) == 0
    assert capsys.readouterr().out == "counted shelf B2 3 time(s)\n"
    [(services, args)] = RAN
    assert (args.shelf, args.times) == ("B2", 3)
    assert services.capabilities == capabilities
    assert services.settings.database == str(database)
    # The database is migrated first, as every other command leaves it.
    assert {"users", "tickets", "bookings"} <= set(services.db().table_names())


def test_a_commands_staff_error_is_one_line(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["count-shelf", "nowhere"], (*CAPABILITIES, SHELVES)) == 1
    assert capsys.readouterr().err == "error: no shelf nowhere in the library config\n"


def test_the_help_lists_a_capabilitys_command_only_when_it_is_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"], (*CAPABILITIES, SHELVES))
    assert done.value.code == 0
    listed = capsys.readouterr().out
    assert "count-shelf" in listed and "count the books on a shelf" in listed
    with pytest.raises(SystemExit):
        main(["count-shelf", "B2"], CAPABILITIES)
    assert "invalid choice: 'count-shelf'" in capsys.readouterr().err


@pytest.mark.parametrize("name", [*SHELL_COMMANDS, "count-shelf"])
def test_a_command_name_is_taken_once(name: str) -> None:
    twice = Capability("twice", commands=(Command(name, "", lambda p: None, lambda s, a: 0),))
    with pytest.raises(ValueError, match=f"command '{name}' is taken"):
        build_parser((*CAPABILITIES, SHELVES, twice))


def test_the_shell_names_every_command_it_has() -> None:
    # SHELL_COMMANDS keeps capabilities off the shell's names: it must list all of them.
    parser = build_parser(())
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert tuple(commands.choices) == SHELL_COMMANDS


def test_chat_does_not_load_the_capabilities() -> None:
    code = (
        "import sys\n"
        "from bot.__main__ import main\n"
        "try:\n"
        "    main(['chat', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('handlers.registry' in sys.modules, 'rasa_sdk' in sys.modules, file=sys.stderr)\n"
    )
    result = python("-c", code, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--channel" in result.stdout
    assert result.stderr.strip() == "False False"
