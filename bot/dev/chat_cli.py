"""`python -m bot chat`: talk to a running bot from the terminal, as WeChat would.

Each line you type becomes a signed (and, in safe mode, encrypted) callback posted to the
server; the reply is decrypted and printed. Lines starting with "/" send events:
/subscribe, /unsubscribe, /click KEY, /scan SCENE.
"""

from __future__ import annotations

import sys

import requests

from bot.core.settings import Settings
from bot.dev.callback_client import Callback, WeChatPeer, peer_for, reply_text
from bot.wechat.protocol import ProtocolError

HELP = "Type a message. Events: /subscribe /unsubscribe /click KEY /scan SCENE. Ctrl-D quits."
EVENTS = {
    "/subscribe": "subscribe",
    "/unsubscribe": "unsubscribe",
    "/click": "CLICK",
    "/scan": "SCAN",
}


def build(peer: WeChatPeer, user: str, line: str) -> Callback:
    word, _, rest = line.partition(" ")
    if word in EVENTS:
        return peer.event(user, EVENTS[word], rest.strip())
    return peer.text(user, line)


def run_chat(settings: Settings, url: str, channel: str, mode: str, user: str) -> int:
    try:
        peer = peer_for(settings, channel, mode)
    except ValueError as error:
        print(f"error: {error} (set the LIBBOT_* keys the server uses)", file=sys.stderr)
        return 2
    print(f"馆伴 chat → {url}{peer.path} as {user} ({peer.mode} mode). {HELP}")
    session = requests.Session()
    for line in sys.stdin if not sys.stdin.isatty() else _prompt():
        line = line.strip()
        if not line:
            continue
        callback = build(peer, user, line)
        try:
            response = session.post(
                url + callback.url_path,
                data=callback.body.encode(),
                timeout=10,
                headers={"Content-Type": "text/xml"},
            )
        except requests.RequestException as error:
            print(f"! cannot reach {url}: {error}")
            return 1
        if response.status_code != 200:
            print(f"! HTTP {response.status_code}: {response.text.strip()}")
            continue
        try:
            print("馆伴> " + (reply_text(peer.read_reply(response.content)) or "(no reply)"))
        except ProtocolError as error:
            print(f"! the reply did not verify: {error.reason}")
    return 0


def _prompt():  # pragma: no cover - interactive only
    while True:
        try:
            yield input("你> ")
        except EOFError:
            print()
            return
