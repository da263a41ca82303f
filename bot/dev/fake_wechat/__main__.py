"""`python -m bot.dev.fake_wechat --host 127.0.0.1 --port 8100`: serve until Ctrl-C or SIGTERM.

The first line on stdout is the base URL (the actual port when --port 0).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from bot.dev.fake_wechat.fake import FakeWeChat, is_loopback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.dev.fake_wechat", description="Fake WeChat / WeCom API server."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port (0: any free port)")
    parser.add_argument(
        "--token-ttl", type=float, default=7200, help="access token lifetime in seconds"
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(f"refusing to listen on {args.host!r}: the fake serves loopback only")

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fake = FakeWeChat(token_ttl=args.token_ttl)
    try:
        url = fake.start(args.host, args.port)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    print(url, flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
