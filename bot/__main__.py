"""Command line: `python -m bot init-db | serve | scheduler | menu push | demo | chat`.

Settings come from LIBBOT_* variables (see README); the commands' own flags only choose
where and how to run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.settings import INSTANCE_DIR, Settings, SettingsError

log = logging.getLogger("guanban")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Guanban (馆伴)")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init-db", help="create or migrate the database")
    init.add_argument("--demo-data", action="store_true", help="also add demo readers")

    serve = commands.add_parser("serve", help="run the production server (gunicorn)")
    _server_flags(serve, default_port=8000)

    commands.add_parser("scheduler", help="run timed jobs and the outbox sender (one at a time)")
    menu = commands.add_parser("menu", help="the custom menus built from config/")
    menu.add_argument("action", choices=("push", "show"), help="push: create them at WeChat")

    demo = commands.add_parser("demo", help="demo mode: demo keys, data and the simulator")
    _server_flags(demo, default_port=8000, default_workers=2)

    chat = commands.add_parser("chat", help="chat with a running bot from the terminal")
    chat.add_argument("--url", default="http://127.0.0.1:8000", help="the bot's base URL")
    chat.add_argument("--channel", choices=("mp", "work"), default="mp")
    chat.add_argument("--mode", choices=("plain", "compatible", "safe"), default="safe")
    chat.add_argument("--user", default="oTerminalReader", help="the reader's openid/userid")

    args = parser.parse_args(argv)
    try:
        if args.command == "init-db":
            return _init_db(Settings.from_env(), demo_data=args.demo_data)
        if args.command == "serve":
            return _serve(args)
        if args.command == "scheduler":
            return _scheduler(Settings.from_env())
        if args.command == "menu":
            return _menu(Settings.from_env(), push=args.action == "push")
        if args.command == "demo":
            return _demo(args)
        if args.command == "chat":
            from bot.chat_cli import run_chat

            settings = Settings.from_env()
            if not (settings.mp_token or settings.work_token):
                # A developer's tool: with no keys set, speak to a `make run` demo.
                settings = settings.with_demo_defaults()
            return run_chat(settings, args.url, args.channel, args.mode, args.user)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
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


def _init_db(settings: Settings, demo_data: bool = False) -> int:
    from bot.db import connect, migrate
    from bot.schema import all_migrations
    from handlers.registry import CAPABILITIES

    applied = migrate(settings.database, all_migrations(CAPABILITIES))
    print(f"database {settings.database}: {len(applied)} migration(s) applied")
    if demo_data:
        from bot.demo import seed

        db = connect(settings.database)
        print(f"demo data: {seed(db)} reader(s) added")
        db.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.server import run_server

    settings = Settings.from_env()
    _configure_logging(settings)
    _init_db(settings)
    return run_server(args.host, args.port, args.workers or settings.workers, args.threads)


def _scheduler(settings: Settings) -> int:
    from bot.scheduler import run_scheduler
    from bot.services import build_services
    from handlers.registry import CAPABILITIES

    _configure_logging(settings)
    _init_db(settings)
    return run_scheduler(build_services(settings), CAPABILITIES)


def _menu(settings: Settings, push: bool) -> int:
    from bot.db import migrate
    from bot.menu import MenuError, push_menus, show_menus
    from bot.schema import all_migrations
    from bot.services import build_services
    from handlers.registry import CAPABILITIES

    _configure_logging(settings)
    migrate(settings.database, all_migrations(CAPABILITIES))  # the token store's table
    services = build_services(settings)
    try:
        for line in push_menus(services) if push else show_menus(services):
            print(line)
    except MenuError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    os.environ["LIBBOT_DEMO"] = "1"
    os.environ.setdefault("LIBBOT_DATABASE", str(INSTANCE_DIR / "demo.sqlite3"))
    settings = Settings.from_env()
    _configure_logging(settings)
    _init_db(settings, demo_data=True)
    base = f"http://{args.host}:{args.port}"
    print(
        "\n馆伴 demo is starting.\n"
        f"  Simulator (chat in your browser): {base}/dev/chat\n"
        f"  Terminal chat: .venv/bin/python -m bot chat --url {base}\n"
        f"  公众号 callback: {base}/wechat/mp   WeCom callback: {base}/wechat/work\n"
        "  Demo keys are public: never point a real 公众号 at demo mode.\n",
        flush=True,
    )
    from bot.server import run_server

    return run_server(args.host, args.port, args.workers, args.threads)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s",
    )
    # rasa-sdk announces every registered action at INFO, in every worker.
    logging.getLogger("rasa_sdk").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
