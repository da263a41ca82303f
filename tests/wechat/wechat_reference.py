"""An independent reference implementation of WeChat's callback crypto, for tests only.

Written from Tencent's protocol description, not from the bot's code: it imports neither
wechatpy nor bot.wechat.protocol, so a test that talks to the server through this module checks the
server against a peer that shares none of its mistakes.

The protocol, as this module implements it:

- signature = hex SHA-1 of the sorted, concatenated [token, timestamp, nonce] (plus the
  ciphertext for encrypted messages and WeCom requests);
- key = base64decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[:16];
- plaintext = 16 random bytes + 4-byte big-endian message length + message + receive id
  (the 公众号's AppID or the WeCom CorpID), PKCS#7-padded to a multiple of 32 bytes;
- the ciphertext travels as standard base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import os
import secrets
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
RANDOM_PREFIX = 16
MP_PATH = "/wechat/mp"
WORK_PATH = "/wechat/work"

_message_ids = itertools.count(7_000_000_000_000_000_000 + secrets.randbelow(10**12))


class PeerRefused(ValueError):
    """Something the reference peer refuses: bad padding, bad length, bad signature."""


# -- primitives ----------------------------------------------------------------------------


def sign(token: str, timestamp: str, nonce: str, encrypt: str | None = None) -> str:
    parts = [token, timestamp, nonce] + ([encrypt] if encrypt is not None else [])
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise PeerRefused("an EncodingAESKey has 43 characters")
    key = base64.b64decode(encoding_aes_key + "=", validate=True)
    if len(key) != 32:
        raise PeerRefused("the EncodingAESKey does not decode to 32 bytes")
    return key


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def pkcs7_pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK  # 1..32: a full block when already aligned
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes) -> bytes:
    if not data:
        raise PeerRefused("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise PeerRefused(f"bad PKCS#7 padding ({amount})")
    return data[:-amount]


def encrypt(
    encoding_aes_key: str, message: str, receive_id: str, *, prefix: bytes | None = None
) -> str:
    """The base64 ciphertext WeChat would send for `message` sealed for `receive_id`."""
    prefix = os.urandom(RANDOM_PREFIX) if prefix is None else prefix
    if len(prefix) != RANDOM_PREFIX:
        raise PeerRefused("the random prefix has 16 bytes")
    body = message.encode("utf-8")
    plain = prefix + struct.pack(">I", len(body)) + body + receive_id.encode("utf-8")
    encryptor = _cipher(aes_key(encoding_aes_key)).encryptor()
    sealed = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
    return base64.b64encode(sealed).decode("ascii")


def seal_raw(encoding_aes_key: str, plain: bytes) -> str:
    """AES-CBC over `plain` exactly as given (whole 16-byte blocks, no padding added): for
    building deliberately malformed messages."""
    encryptor = _cipher(aes_key(encoding_aes_key)).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


@dataclass(frozen=True)
class Opened:
    prefix: bytes
    message: str
    receive_id: str


def open_sealed(encoding_aes_key: str, ciphertext: str) -> Opened:
    """Decrypt strictly: every malformation is a PeerRefused."""
    try:
        sealed = base64.b64decode(ciphertext, validate=True)
    except binascii.Error as error:
        raise PeerRefused(f"not base64: {error}") from None
    if not sealed or len(sealed) % BLOCK:
        raise PeerRefused(f"ciphertext of {len(sealed)} bytes is not whole 32-byte blocks")
    decryptor = _cipher(aes_key(encoding_aes_key)).decryptor()
    plain = pkcs7_unpad(decryptor.update(sealed) + decryptor.finalize())
    if len(plain) < RANDOM_PREFIX + 4:
        raise PeerRefused("plaintext too short")
    (length,) = struct.unpack(">I", plain[RANDOM_PREFIX : RANDOM_PREFIX + 4])
    rest = plain[RANDOM_PREFIX + 4 :]
    if length > len(rest):
        raise PeerRefused(f"declared length {length} exceeds the {len(rest)} bytes left")
    return Opened(
        prefix=plain[:RANDOM_PREFIX],
        message=rest[:length].decode("utf-8"),
        receive_id=rest[length:].decode("utf-8"),
    )


def decrypt(encoding_aes_key: str, ciphertext: str, receive_id: str) -> str:
    """The message sealed in `ciphertext`, which must be sealed for `receive_id`."""
    opened = open_sealed(encoding_aes_key, ciphertext)
    if opened.receive_id != receive_id:
        raise PeerRefused(f"sealed for {opened.receive_id!r}, not {receive_id!r}")
    return opened.message


# -- XML -----------------------------------------------------------------------------------


def cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section: close it after "]]", reopen before ">".
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


NUMERIC_FIELDS = frozenset({"CreateTime", "MsgId", "AgentID", "Location_X", "Location_Y", "Scale"})


def message_xml(fields: dict[str, str | int]) -> str:
    """WeChat's message layout: numbers bare, strings in CDATA, in the given order."""
    parts = []
    for name, value in fields.items():
        text = str(value)
        inner = text if name in NUMERIC_FIELDS and text.isdigit() else cdata(text)
        parts.append(f"<{name}>{inner}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def read_xml(document: str | bytes) -> dict[str, str]:
    """The text of each direct child of <xml> (the stdlib parser: our own replies only)."""
    root = ElementTree.fromstring(document)
    if root.tag != "xml":
        raise PeerRefused(f"root element is <{root.tag}>, not <xml>")
    return {child.tag: child.text or "" for child in root}


# -- keys and requests -----------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """One endpoint's keys. receive_id is the 公众号 AppID or the WeCom CorpID."""

    token: str
    encoding_aes_key: str = ""
    receive_id: str = ""
    agent_id: str = ""
    account_name: str = "gh_reference0001"  # the 公众号's original id (ToUserName)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: str = ""


def now() -> int:
    """The peer's clock (timestamps, CreateTime); tests may stand it at another moment."""
    return int(time.time())


def fresh_stamp() -> tuple[str, str]:
    return str(now()), str(secrets.randbelow(10**10))


def _stamp(timestamp: int | str | None, nonce: str | None) -> tuple[str, str]:
    now, random_nonce = fresh_stamp()
    return (now if timestamp is None else str(timestamp)), (nonce or random_nonce)


def message(
    keys: Keys,
    user: str,
    msg_type: str,
    fields: Mapping[str, str | int] | None = None,
    *,
    create_time: int | None = None,
    to: str | None = None,
) -> str:
    """A callback's plaintext XML as WeChat lays it out. Messages (not events) get a fresh
    MsgId unless `fields` names one; WeCom messages carry the AgentID."""
    document: dict[str, str | int] = {
        "ToUserName": to or keys.account_name,
        "FromUserName": user,
        "CreateTime": create_time if create_time is not None else now(),
        "MsgType": msg_type,
        **(fields or {}),
    }
    if msg_type != "event":
        document.setdefault("MsgId", next(_message_ids))
    if keys.agent_id:
        document.setdefault("AgentID", keys.agent_id)
    return message_xml(document)


def text_message(keys: Keys, user: str, content: str, **options: Any) -> str:
    return message(keys, user, "text", {"Content": content}, **options)


def event_message(keys: Keys, user: str, event: str, key: str | None = None, **options: Any) -> str:
    fields = {"Event": event} if key is None else {"Event": event, "EventKey": key}
    return message(keys, user, "event", fields, **options)


def mp_plain_post(
    keys: Keys, xml: str, *, timestamp: int | str | None = None, nonce: str | None = None
) -> Request:
    ts, nonce = _stamp(timestamp, nonce)
    query = {
        "signature": sign(keys.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": "reference-openid",
    }
    return Request("POST", MP_PATH, query, xml)


def _mp_encrypted_post(
    keys: Keys, xml: str, body_of: str, timestamp: int | str | None, nonce: str | None
) -> Request:
    ts, nonce = _stamp(timestamp, nonce)
    sealed = encrypt(keys.encoding_aes_key, xml, keys.receive_id)
    if body_of == "compatible":
        # Compatible mode: the plaintext fields and the ciphertext side by side.
        body = xml[: xml.rindex("</xml>")] + f"<Encrypt>{cdata(sealed)}</Encrypt></xml>"
    else:
        body = message_xml({"ToUserName": keys.account_name, "Encrypt": sealed})
    query = {
        "signature": sign(keys.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": "reference-openid",
        "encrypt_type": "aes",
        "msg_signature": sign(keys.token, ts, nonce, sealed),
    }
    return Request("POST", MP_PATH, query, body)


def mp_compatible_post(
    keys: Keys, xml: str, *, timestamp: int | str | None = None, nonce: str | None = None
) -> Request:
    return _mp_encrypted_post(keys, xml, "compatible", timestamp, nonce)


def mp_safe_post(
    keys: Keys, xml: str, *, timestamp: int | str | None = None, nonce: str | None = None
) -> Request:
    return _mp_encrypted_post(keys, xml, "safe", timestamp, nonce)


MP_BUILDERS = {"plain": mp_plain_post, "compatible": mp_compatible_post, "safe": mp_safe_post}


def mp_verify_get(
    keys: Keys,
    echostr: str = "reference-echo-4242",
    *,
    timestamp: int | str | None = None,
    nonce: str | None = None,
) -> Request:
    ts, nonce = _stamp(timestamp, nonce)
    query = {
        "signature": sign(keys.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echostr,
    }
    return Request("GET", MP_PATH, query)


def work_post(
    keys: Keys, xml: str, *, timestamp: int | str | None = None, nonce: str | None = None
) -> Request:
    ts, nonce = _stamp(timestamp, nonce)
    sealed = encrypt(keys.encoding_aes_key, xml, keys.receive_id)
    body = message_xml({"ToUserName": keys.receive_id, "Encrypt": sealed, "AgentID": keys.agent_id})
    query = {"msg_signature": sign(keys.token, ts, nonce, sealed), "timestamp": ts, "nonce": nonce}
    return Request("POST", WORK_PATH, query, body)


def work_verify_get(
    keys: Keys,
    echostr: str = "4242424242424242",
    *,
    timestamp: int | str | None = None,
    nonce: str | None = None,
) -> Request:
    """WeCom's URL check: echostr is sealed; the server must answer it decrypted."""
    ts, nonce = _stamp(timestamp, nonce)
    sealed = encrypt(keys.encoding_aes_key, echostr, keys.receive_id)
    query = {
        "msg_signature": sign(keys.token, ts, nonce, sealed),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": sealed,
    }
    return Request("GET", WORK_PATH, query)


# -- replies -------------------------------------------------------------------------------


def news_articles(xml: str) -> list[dict[str, str]]:
    """The <item>s of a news reply, each as {Title, Description, PicUrl, Url}."""
    root = ElementTree.fromstring(xml)
    return [{child.tag: child.text or "" for child in item} for item in root.iter("item")]


@dataclass(frozen=True)
class Reply:
    fields: dict[str, str]
    xml: str  # the reply XML as the phone's WeChat would see it (decrypted)
    encrypted: bool


def decode_reply(keys: Keys, body: str | bytes) -> Reply:
    """Read a passive reply; an encrypted one must carry a valid MsgSignature and be sealed
    for keys.receive_id. Raises PeerRefused otherwise."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    outer = read_xml(text)
    if "Encrypt" not in outer:
        return Reply(outer, text, encrypted=False)
    expected = sign(
        keys.token, outer.get("TimeStamp", ""), outer.get("Nonce", ""), outer["Encrypt"]
    )
    if outer.get("MsgSignature") != expected:
        raise PeerRefused("reply MsgSignature does not verify")
    inner = decrypt(keys.encoding_aes_key, outer["Encrypt"], keys.receive_id)
    return Reply(read_xml(inner), inner, encrypted=True)


# -- delivery ------------------------------------------------------------------------------


def send(client: Any, request: Request) -> Any:
    """Deliver `request` through a Flask test client, as WeChat's servers would."""
    return client.open(
        request.path,
        method=request.method,
        query_string=request.query,
        data=request.body.encode("utf-8"),
        content_type="text/xml" if request.method == "POST" else None,
    )
