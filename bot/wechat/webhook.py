"""The two callback endpoints: GET/POST /wechat/mp (公众号) and /wechat/work (WeCom app).

Only this module and bot.wechat.protocol speak WeChat. A request is verified (signature, then
timestamp) before its body is parsed, decrypted if it was encrypted, turned into an
`Incoming` and answered by the pipeline; the reply is encrypted whenever the request was.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, request

from bot.core.values import MP, WORK, Incoming
from bot.wechat import protocol
from bot.wechat.protocol import SUCCESS, Account, ProtocolError
from bot.wechat.runtime import Runtime

log = logging.getLogger("guanban.webhook")

blueprint = Blueprint("wechat", __name__)


def _runtime() -> Runtime:
    return current_app.extensions["guanban"]


def _text(body: str, status: int = 200) -> Response:
    return Response(
        body, status=status, mimetype="text/plain", content_type="text/plain; charset=utf-8"
    )


@blueprint.errorhandler(ProtocolError)
def _refuse(error: ProtocolError) -> Response:
    # One line, no traceback: a forged or broken request is the sender's problem, not ours.
    log.info("refused %s %s: %s", request.method, request.path, error.reason)
    return _text(error.reason + "\n", error.status)


def _verify_time(runtime: Runtime) -> None:
    protocol.check_timestamp(
        request.args.get("timestamp"), time.time(), runtime.settings.timestamp_tolerance
    )


@blueprint.get("/wechat/mp")
def mp_verify() -> Response:
    runtime = _runtime()
    account = runtime.account(MP)
    args = request.args
    protocol.check_signature(
        args.get("signature"), account.token, args.get("timestamp", ""), args.get("nonce", "")
    )
    _verify_time(runtime)
    return _text(args.get("echostr", ""))


@blueprint.post("/wechat/mp")
def mp_message() -> Response:
    runtime = _runtime()
    account = runtime.account(MP)
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    encrypted_mode = args.get("encrypt_type", "raw").lower() == "aes"
    if not encrypted_mode or args.get("signature"):
        # Plaintext mode signs only (token, timestamp, nonce); WeChat sends it in every mode.
        protocol.check_signature(args.get("signature"), account.token, timestamp, nonce)
    _verify_time(runtime)
    fields = protocol.parse_xml(request.get_data(cache=False))
    if encrypted_mode:
        if not account.aes_key:
            raise ProtocolError(400, "encrypted message, but LIBBOT_MP_AES_KEY is not set")
        encrypted = fields.get("Encrypt", "")
        if not encrypted:
            raise ProtocolError(400, "missing fields: Encrypt")
        protocol.check_signature(
            args.get("msg_signature"), account.token, timestamp, nonce, encrypted
        )
        fields = protocol.parse_xml(protocol.decrypt(account, encrypted))
    incoming = protocol.incoming_from_fields(MP, fields)
    return _answer(runtime, account, incoming, encrypt=encrypted_mode)


@blueprint.get("/wechat/work")
def work_verify() -> Response:
    runtime = _runtime()
    account = runtime.account(WORK)
    args = request.args
    # echostr is base64, which never holds a space: a space is a "+" that a sloppy client
    # left unencoded in the query string.
    echostr = args.get("echostr", "").replace(" ", "+")
    protocol.check_signature(
        args.get("msg_signature"),
        account.token,
        args.get("timestamp", ""),
        args.get("nonce", ""),
        echostr,
    )
    _verify_time(runtime)
    return _text(protocol.decrypt(account, echostr))


@blueprint.post("/wechat/work")
def work_message() -> Response:
    runtime = _runtime()
    account = runtime.account(WORK)
    args = request.args
    _verify_time(runtime)
    fields = protocol.parse_xml(request.get_data(cache=False))
    encrypted = fields.get("Encrypt", "")
    if not encrypted:
        raise ProtocolError(400, "missing fields: Encrypt")
    protocol.check_signature(
        args.get("msg_signature"),
        account.token,
        args.get("timestamp", ""),
        args.get("nonce", ""),
        encrypted,
    )
    fields = protocol.parse_xml(protocol.decrypt(account, encrypted))
    incoming = protocol.incoming_from_fields(WORK, fields)
    return _answer(runtime, account, incoming, encrypt=True)


def _answer(runtime: Runtime, account: Account, incoming: Incoming, *, encrypt: bool) -> Response:
    reply = runtime.pipeline.answer(incoming)
    xml = protocol.render_reply(reply, incoming)
    if not xml:
        return _text(SUCCESS)
    if encrypt:
        xml = protocol.encrypt_reply(account, xml)
    return Response(xml, mimetype="application/xml", content_type="application/xml; charset=utf-8")
