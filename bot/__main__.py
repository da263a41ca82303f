"""Command line: `python -m bot init-db | serve | scheduler | menu push | qr | demo | chat`,
and the commands the capabilities add (`Capability.commands`).

Settings come from LIBBOT_* variables (see README); the commands' own flags only choose
where and how to run.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from bot.core.settings import INSTANCE_DIR, PROJECT_ROOT, Settings, SettingsError

if TYPE_CHECKING:  # the registry is imported when a command needs it (see main)
    from handlers.kit.capability import Capability, Command

log = logging.getLogger("guanban")

# The shell's own commands; a capability's command may not take one of these names.
SHELL_COMMANDS = ("init-db", "serve", "scheduler", "create-staff", "menu", "qr", "demo", "chat")
# Commands that need no capability: loading them all (rasa-sdk, every capability's modules,
# about a second) would only slow these down.
LIGHT_COMMANDS = frozenset({"chat"})


def main(
    argv: Sequence[str] | None = None, capabilities: Sequence[Capability] | None = None
) -> int:
    """Run one command; `capabilities` are the bot's (default: handlers/registry.py's; tests
    pass others). The processes a command starts (`serve`'s workers, the demo's scheduler)
    build theirs from the registry."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if capabilities is None:
        capabilities = () if _command_word(argv) in LIGHT_COMMANDS else _registry()
    parser = build_parser(capabilities)
    args = parser.parse_args(argv)
    chosen = tuple(capabilities)
    try:
        if args.command == "init-db":
            return _init_db(Settings.from_env(), chosen, demo_data=args.demo_data)
        if args.command == "serve":
            return _serve(args, chosen)
        if args.command == "create-staff":
            return _create_staff(Settings.from_env(), chosen, args)
        if args.command == "scheduler":
            return _scheduler(Settings.from_env(), chosen)
        if args.command == "menu":
            return _menu(Settings.from_env(), chosen, push=args.action == "push")
        if args.command == "qr":
            return _qr(Settings.from_env(), chosen, args)
        if args.command == "demo":
            return _demo(args, chosen)
        if args.command == "chat":
            from bot.dev.chat_cli import run_chat

            settings = Settings.from_env()
            if not (settings.mp_token or settings.work_token):
                # A developer's tool: with no keys set, speak to a `make run` demo.
                settings = settings.with_demo_defaults()
            return run_chat(settings, args.url, args.channel, args.mode, args.user)
        command: Command | None = getattr(args, CAPABILITY_COMMAND, None)
        if command is not None:
            return _run_command(command, Settings.from_env(), chosen, args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1


# Where a capability's subparser keeps its Command (a name no flag of theirs would take).
CAPABILITY_COMMAND = "_guanban_command"


def build_parser(capabilities: Sequence[Capability]) -> argparse.ArgumentParser:
    """The shell's commands, then each capability's (`Capability.commands`), in the
    registry's order."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Guanban (馆伴)")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init-db", help="create or migrate the database")
    init.add_argument("--demo-data", action="store_true", help="also add demo readers")

    serve = commands.add_parser("serve", help="run the production server (gunicorn)")
    _server_flags(serve, default_port=8000)

    commands.add_parser("scheduler", help="run timed jobs and the outbox sender (one at a time)")
    create_staff = commands.add_parser("create-staff", help="create a staff console account")
    create_staff.add_argument("username")
    create_staff.add_argument("--role", choices=("admin", "staff", "counsellor"), default="staff")
    create_staff.add_argument("--name", default="", help="display name")
    create_staff.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    menu = commands.add_parser("menu", help="the custom menus built from config/")
    menu.add_argument("action", choices=("push", "show"), help="push: create them at WeChat")

    qr = commands.add_parser("qr", help="printable check-in QR codes for seats and rooms")
    qr.add_argument("--out", default=str(INSTANCE_DIR / "qr"), help="folder (default: %(default)s)")
    qr.add_argument("--format", choices=("png", "pdf", "both"), default="both")
    for capability in capabilities:  # each adds the flags that choose its codes
        if capability.qr is not None:
            capability.qr.arguments(qr)

    demo = commands.add_parser("demo", help="demo mode: demo keys, data and the simulator")
    _server_flags(demo, default_port=8000, default_workers=2)

    chat = commands.add_parser("chat", help="chat with a running bot from the terminal")
    chat.add_argument("--url", default="http://127.0.0.1:8000", help="the bot's base URL")
    chat.add_argument("--channel", choices=("mp", "work"), default="mp")
    chat.add_argument("--mode", choices=("plain", "compatible", "safe"), default="safe")
    chat.add_argument("--user", default="oTerminalReader", help="the reader's openid/userid")

    taken = {name: "the shell" for name in SHELL_COMMANDS}
    for capability in capabilities:
        for command in capability.commands:
            if command.name in taken:
                # A developer's mistake, found by any command line: say whose name it is.
                raise ValueError(
                    f"capability {capability.name!r}: command {command.name!r} is taken by "
                    f"{taken[command.name]}"
                )
            taken[command.name] = f"capability {capability.name!r}"
            sub = commands.add_parser(command.name, help=command.help, description=command.help)
            command.arguments(sub)
            sub.set_defaults(**{CAPABILITY_COMMAND: command})
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in `argv` (the top level has no option taking a value)."""
    return argv[0] if argv and not argv[0].startswith("-") else None


def _registry() -> tuple[Capability, ...]:
    from handlers.registry import CAPABILITIES

    return CAPABILITIES


def _run_command(
    command: Command,
    settings: Settings,
    capabilities: tuple[Capability, ...],
    args: argparse.Namespace,
) -> int:
    """A capability's command, on a migrated database with the services of these
    capabilities; its StaffError is the one line the librarian reads."""
    from bot.core.db import migrate
    from bot.core.errors import StaffError
    from bot.schema import all_migrations
    from handlers.kit.services import build_services

    _configure_logging(settings)
    migrate(settings.database, all_migrations(capabilities))
    try:
        return command.run(build_services(settings, capabilities=capabilities), args)
    except StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _server_flags(
    parser: argparse.ArgumentParser, default_port: int, default_workers: int | None = None
) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers,
        help="worker processes (default: LIBBOT_WORKERS, else 2 x cores + 1)",
    )
    parser.add_argument("--threads", type=int, default=4, help="request threads per worker")


def _init_db(
    settings: Settings, capabilities: Sequence[Capability], demo_data: bool = False
) -> int:
    from bot.core.db import connect, migrate
    from bot.schema import all_migrations

    applied = migrate(settings.database, all_migrations(capabilities))
    print(f"database {settings.database}: {len(applied)} migration(s) applied")
    if demo_data:
        from bot.dev.demo import seed, seed_capabilities
        from handlers.kit.services import build_services

        db = connect(settings.database)
        print(f"demo data: {seed(db)} reader(s) added")
        db.close()
        for line in seed_capabilities(build_services(settings, capabilities=capabilities)):
            print(f"demo data: {line}")
    return 0


def _serve(args: argparse.Namespace, capabilities: Sequence[Capability]) -> int:
    from bot.server import run_server

    settings = Settings.from_env()
    _configure_logging(settings)
    _init_db(settings, capabilities)
    from bot.app import warm_up

    return run_server(
        args.host,
        args.port,
        args.workers or settings.workers,
        args.threads,
        warm_up=lambda: warm_up(settings),
    )


def _create_staff(
    settings: Settings, capabilities: Sequence[Capability], args: argparse.Namespace
) -> int:
    import getpass

    from bot.core import staff
    from bot.core.clock import system_clock
    from bot.core.db import connect

    _init_db(settings, capabilities)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    db = connect(settings.database)
    try:
        account = staff.create(db, args.username, password, args.role, system_clock(), args.name)
    except staff.AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"created {account.role} account {account.username}; log in at /console/login")
    return 0


def _scheduler(settings: Settings, capabilities: Sequence[Capability]) -> int:
    from bot.outbound.scheduler import run_scheduler
    from handlers.kit.services import build_services

    _configure_logging(settings)
    _init_db(settings, capabilities)
    return run_scheduler(build_services(settings, capabilities=capabilities), capabilities)


def _menu(settings: Settings, capabilities: Sequence[Capability], push: bool) -> int:
    from bot.core.db import migrate
    from bot.outbound.menu import MenuError, push_menus, show_menus
    from bot.schema import all_migrations
    from handlers.kit.services import build_services

    _configure_logging(settings)
    migrate(settings.database, all_migrations(capabilities))  # the token store's table
    services = build_services(settings, capabilities=capabilities)
    try:
        for line in push_menus(services) if push else show_menus(services):
            print(line)
    except MenuError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _qr(settings: Settings, capabilities: Sequence[Capability], args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.core.db import migrate
    from bot.core.errors import StaffError
    from bot.outbound.qr import make_codes
    from bot.outbound.qr_sheets import find_cjk_font
    from bot.schema import all_migrations
    from handlers.kit.services import build_services

    printers = [capability.qr for capability in capabilities if capability.qr is not None]
    if not printers:  # a bot built without the capabilities that print codes
        print("error: no capability of this bot prints QR codes", file=sys.stderr)
        return 1
    migrate(settings.database, all_migrations(capabilities))  # qr_codes, the token store
    services = build_services(settings, capabilities=capabilities)
    face = find_cjk_font()
    try:
        labels = [label for codes in printers for label in codes.labels(services, args)]
        print(make_codes(services, labels, Path(args.out), args.format, face))
    except StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if face is None:
        print(
            "note: no font with Chinese glyphs found (fc-list :lang=zh), so the labels show "
            "the space id only; install one (e.g. apt-get install fonts-noto-cjk) and run again",
            file=sys.stderr,
        )
    return 0


# The demo's fake WeChat API server listens on the web port + this, on loopback.
FAKE_PORT_OFFSET = 100
LOOPBACK = "127.0.0.1"
CHILD_STOP_SECONDS = 20


class DemoError(Exception):
    """The demo cannot start; the message is the one line the developer reads."""


def _demo(args: argparse.Namespace, capabilities: Sequence[Capability]) -> int:
    """The bot in demo mode with everything around it, as `make run` starts it.

    Beside gunicorn (run here, as in `serve`) the demo starts two children: the project's fake
    WeChat API server on loopback (port + 100) and `python -m bot scheduler`, whose sender
    delivers the outbox to that fake. Outbound API bases are pointed at the fake before any
    settings are read, so the web workers (the simulator asks the fake what a phone got) and
    the scheduler agree, and the public demo keys never reach a real WeChat host. The children
    stop when the demo does: SIGINT, SIGTERM or gunicorn exiting.
    """
    from bot.dev.demo import DEMO_STAFF

    fake_port = args.port + FAKE_PORT_OFFSET
    try:
        if not 1 <= args.port <= 65535 - FAKE_PORT_OFFSET:
            raise DemoError(
                f"--port must be between 1 and {65535 - FAKE_PORT_OFFSET} (the fake WeChat API "
                f"listens on port + {FAKE_PORT_OFFSET})"
            )
        _check_port_free(args.host, args.port, "the web server")
        _check_port_free(LOOPBACK, fake_port, "the fake WeChat API (web port + 100)")
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    fake_url = f"http://{LOOPBACK}:{fake_port}"
    os.environ["LIBBOT_DEMO"] = "1"
    os.environ.setdefault("LIBBOT_DATABASE", str(INSTANCE_DIR / "demo.sqlite3"))
    os.environ["LIBBOT_WECHAT_API_BASE"] = fake_url
    os.environ["LIBBOT_WORK_API_BASE"] = fake_url
    settings = Settings.from_env()
    _configure_logging(settings)
    _init_db(settings, capabilities, demo_data=True)

    owner = os.getpid()
    children: list[subprocess.Popen[str]] = []
    # Until gunicorn installs its own handlers, SIGTERM must still reach the finally below.
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _start_fake(fake_port, children)
        children.append(_spawn([sys.executable, "-m", "bot", "scheduler"]))
        base = f"http://{args.host}:{args.port}"
        print(
            "\n馆伴 demo is starting.\n"
            f"  Simulator (chat in your browser): {base}/dev/chat\n"
            f"  Terminal chat: .venv/bin/python -m bot chat --url {base}\n"
            f"  公众号 callback: {base}/wechat/mp   WeCom callback: {base}/wechat/work\n"
            f"  Fake WeChat API: {fake_url} (the scheduler sends pushed messages here)\n"
            f"  Staff console: {base}/console/ (demo account {DEMO_STAFF[0]} / "
            f"{DEMO_STAFF[1]}); API docs: {base}/api/v1/docs\n"
            "  Demo keys are public: never point a real 公众号 at demo mode.\n",
            flush=True,
        )
        from bot.app import warm_up
        from bot.server import run_server

        return run_server(
            args.host, args.port, args.workers, args.threads, warm_up=lambda: warm_up(settings)
        )
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        # gunicorn's workers are forks of this process, and a worker leaves through this
        # frame too (SystemExit): only the process that started the children stops them.
        # (Popen would not signal from a fork anyway, as they are not the worker's children.)
        if os.getpid() == owner:
            signal.signal(signal.SIGTERM, previous)
            _stop_children(children)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _check_port_free(host: str, port: int, what: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gunicorn and the fake bind: a port left in TIME_WAIT is free, one listened on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DemoError(
                f"port {port} on {host} is taken ({error.strerror}); {what} needs it. "
                "Stop what holds it, or choose another --port."
            ) from None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The children import the project as this process does, whatever the working directory.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    return env


def _spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, env=_child_env(), text=True, preexec_fn=_die_with_parent(), **kwargs
    )


def _start_fake(port: int, children: list[subprocess.Popen[str]]) -> None:
    """Start the fake WeChat API server (kept in `children` at once, so that a signal during
    the wait still stops it); returns once it listens, which it says by printing its URL."""
    process = _spawn(
        [sys.executable, "-m", "bot.dev.fake_wechat", "--host", LOOPBACK, "--port", str(port)],
        stdout=subprocess.PIPE,
    )
    children.append(process)
    assert process.stdout is not None
    with process.stdout:
        url = process.stdout.readline().strip()
    if not url:
        raise DemoError(f"the fake WeChat API did not start on {LOOPBACK}:{port} (see above)")


def _stop_children(children: list[subprocess.Popen[str]]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=CHILD_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("pid %d did not stop in %d s: killed", child.pid, CHILD_STOP_SECONDS)
            child.kill()
            child.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: a child gets SIGTERM when the demo dies, even by kill -9 (no orphans)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def arm() -> None:  # runs in the child between fork and exec
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the demo died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s",
    )
    # rasa-sdk announces every registered action at INFO, in every worker.
    logging.getLogger("rasa_sdk").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
