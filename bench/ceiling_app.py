"""The webhook's ceiling: only the WeChat protocol work of a 公众号 safe-mode text callback.

A minimal Flask app whose POST /wechat/mp does what the real endpoint must do for every
message and nothing else: the two SHA-1 signatures (`signature` and `msg_signature`, compared
in constant time) and the timestamp window, the envelope parsed with defusedxml (DTDs and
entities refused), the AES decryption with wechatpy's PrpCrypto (and the AppID sealed inside
checked), the decrypted message parsed the same way, and a fixed text reply rendered by
wechatpy, encrypted and signed with a fresh nonce. No database, no intent layer, no router.

It repeats bot/protocol.py's calls (the same libraries, in the same way) rather than
importing them, so that it does not depend on where the bot's modules live. It reads the
same 公众号 keys as the bot (LIBBOT_MP_TOKEN, LIBBOT_MP_APPID, LIBBOT_MP_AES_KEY).
`bench/webhook.py --ceiling` runs it beside the real
server to tell how far the real one is from what the protocol alone costs:

    python -m bench.ceiling_app --port 8001 --workers 2 --threads 4   # the real serve's gunicorn
    gunicorn --no-control-socket bench.ceiling_app:app                # or any gunicorn
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from flask import Flask, Response, request
from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.replies import TextReply

# What the ceiling answers to every message: as long as the real server's two answers on
# average (the opening hours, 181 characters; the greeting, 32).
REPLY = (
    "馆伴（基准上限）：这是固定的回复，不查数据库，也不理解你说的话。"
    "今天 08:00 开馆，22:00 闭馆；周六、周日 08:00–22:00。"
    "发送「帮助」看看我还能做什么。"
)
MAX_BODY = 1024 * 1024  # as bot.app
TIMESTAMP_TOLERANCE = 300  # seconds; bot.settings' default
XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _signature(token: str, *parts: str) -> str:
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def _check_signature(given: str | None, token: str, *parts: str) -> None:
    if not given:
        raise Refused(403, "missing signature")
    if not hmac.compare_digest(given.lower().encode(), _signature(token, *parts).encode()):
        raise Refused(403, "bad signature")


def _check_timestamp(timestamp: str | None, tolerance: int) -> None:
    try:
        stamp = int(timestamp or "")
    except ValueError:
        raise Refused(403, "missing or malformed timestamp") from None
    if abs(time.time() - stamp) > tolerance:
        raise Refused(403, f"timestamp more than {tolerance} s from now")


def _parse_xml(body: bytes | str) -> dict[str, str]:
    if not body or not body.strip():
        raise Refused(400, "empty body")
    try:
        root = safe_xml.fromstring(body, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException:
        raise Refused(400, "XML with a DTD or entities is not accepted") from None
    except (ParseError, ValueError, UnicodeError, LookupError):
        raise Refused(400, "malformed XML") from None
    if root.tag != "xml":
        raise Refused(400, "root element must be <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def _cdata_safe(text: str) -> str:
    return XML_INVALID_CHARS.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    env = os.environ if env is None else env
    try:
        token = env["LIBBOT_MP_TOKEN"]
        appid = env["LIBBOT_MP_APPID"]
        key = base64.b64decode(env["LIBBOT_MP_AES_KEY"] + "=")
    except KeyError as missing:
        raise SystemExit(f"bench.ceiling_app: {missing.args[0]} is not set") from None
    tolerance = int(env.get("LIBBOT_TIMESTAMP_TOLERANCE") or TIMESTAMP_TOLERANCE)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.errorhandler(Refused)
    def refuse(error: Refused) -> Response:
        return Response(error.reason + "\n", error.status, mimetype="text/plain")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status": "ok"}\n', mimetype="application/json")

    @app.post("/wechat/mp")
    def mp_message() -> Response:
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if args.get("encrypt_type", "raw").lower() != "aes":
            raise Refused(400, "the ceiling answers safe-mode (encrypted) callbacks only")
        if args.get("signature"):
            _check_signature(args.get("signature"), token, timestamp, nonce)
        _check_timestamp(timestamp, tolerance)
        encrypted = _parse_xml(request.get_data(cache=False)).get("Encrypt", "")
        if not encrypted:
            raise Refused(400, "missing fields: Encrypt")
        _check_signature(args.get("msg_signature"), token, timestamp, nonce, encrypted)
        try:
            plain = PrpCrypto(key).decrypt(encrypted, appid)
        except InvalidAppIdException:
            raise Refused(403, "message was not encrypted for this account") from None
        except (ValueError, TypeError, IndexError):
            raise Refused(400, "cannot decrypt the message") from None
        fields = _parse_xml(plain)
        if not fields.get("FromUserName") or not fields.get("ToUserName"):
            raise Refused(400, "missing fields: ToUserName, FromUserName")
        xml = TextReply(
            source=_cdata_safe(fields["ToUserName"]),
            target=_cdata_safe(fields["FromUserName"]),
            content=_cdata_safe(REPLY),
        ).render()
        sealed = PrpCrypto(key).encrypt(xml, appid).decode()
        stamp = str(int(time.time()))
        reply_nonce = str(secrets.randbelow(10**10))
        envelope = (
            "<xml>"
            f"<Encrypt><![CDATA[{sealed}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{_signature(token, stamp, reply_nonce, sealed)}]]>"
            "</MsgSignature>"
            f"<TimeStamp>{stamp}</TimeStamp>"
            f"<Nonce><![CDATA[{reply_nonce}]]></Nonce>"
            "</xml>"
        )
        return Response(
            envelope, mimetype="application/xml", content_type="application/xml; charset=utf-8"
        )

    return app


def __getattr__(name: str) -> Any:
    # `gunicorn bench.ceiling_app:app`: built on first use (in the worker), not at import.
    if name == "app":
        return create_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def serve(host: str, port: int, workers: int, threads: int) -> int:
    """Run the ceiling under exactly the production server's gunicorn settings: bot.server's
    own run_server, with the app it loads in each worker replaced by this one."""
    from bot import server  # gunicorn only; the bot's app, router and pipeline are not imported

    server._Gunicorn.load = lambda self: create_app()  # type: ignore[method-assign]
    return server.run_server(host, port, workers, threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    create_app()  # fail here, not in every worker, when a key is missing
    # As `python -m bot serve` configures logging (LIBBOT_LOG_LEVEL's default, INFO).
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"
    )
    return serve(args.host, args.port, args.workers, args.threads)


if __name__ == "__main__":
    sys.exit(main())
