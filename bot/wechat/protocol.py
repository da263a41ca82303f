"""WeChat's callback protocol, for the 公众号 and the WeCom app, without Flask.

verify → decrypt → parse → Incoming, and Reply → XML → encrypt. Every failure is a
`ProtocolError` with the HTTP status to answer and a one-line reason; nothing here lets a
parser's or a cipher's own exception escape.

We rely on wechatpy for AES (PrpCrypto) and for rendering replies, and do the rest
ourselves because wechatpy 1.8.18 compares signatures with `!=`, never checks timestamps,
parses with an XML parser that expands entities, and lets `]]>` in content break its XML.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from wechatpy import replies as mp_replies
from wechatpy.crypto import PrpCrypto as MpPrpCrypto
from wechatpy.enterprise import replies as work_replies
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException

from bot.core.clock import TZ
from bot.core.values import MP, WORK, EmptyReply, Incoming, NewsReply, Reply, TextReply

SUCCESS = "success"  # WeChat's "no reply": shows nothing, stops the retries
MAX_ARTICLES = 8  # WeChat shows at most 8 articles in a passive news reply
# XML 1.0 forbids most control characters; a reply containing one would be rejected.
# Lone surrogates cannot even be encoded as UTF-8.
XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ProtocolError(Exception):
    """A request we refuse: `status` is the HTTP status, `reason` a one-line explanation."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Account:
    """One callback endpoint's keys: a 公众号 (id = AppID) or a WeCom app (id = CorpID)."""

    channel: str
    token: str
    aes_key: str  # EncodingAESKey, 43 characters; "" when the 公众号 runs in plaintext mode
    receive_id: str  # the id sealed inside every encrypted message
    agent_id: str = ""

    @property
    def key(self) -> bytes:
        return base64.b64decode(self.aes_key + "=")


# -- signatures and timestamps -----------------------------------------------------------


def signature(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the token and the parts, sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def check_signature(given: str | None, token: str, *parts: str) -> None:
    if not given:
        raise ProtocolError(403, "missing signature")
    # Constant time: a byte-by-byte comparison would tell an attacker how much they got right.
    if not hmac.compare_digest(given.lower().encode(), signature(token, *parts).encode()):
        raise ProtocolError(403, "bad signature")


def check_timestamp(timestamp: str | None, now: float, tolerance: int) -> None:
    """Refuse stale or future-dated requests, so a captured callback cannot be replayed."""
    try:
        stamp = int(timestamp or "")
    except ValueError:
        raise ProtocolError(403, "missing or malformed timestamp") from None
    try:
        skew = abs(now - stamp)
    except OverflowError:  # an integer too large for a float: far from now, whatever now is
        skew = float("inf")
    if skew > tolerance:
        raise ProtocolError(403, f"timestamp more than {tolerance} s from now")


# -- XML in ------------------------------------------------------------------------------


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The <xml> element's children as a flat dict; DTDs and entities are refused."""
    if not body or not body.strip():
        raise ProtocolError(400, "empty body")
    try:
        root = safe_xml.fromstring(body, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException:
        raise ProtocolError(400, "XML with a DTD or entities is not accepted") from None
    except (ParseError, ValueError, UnicodeError, LookupError):
        # LookupError: an XML declaration naming an encoding Python does not know.
        raise ProtocolError(400, "malformed XML") from None
    if root.tag != "xml":
        raise ProtocolError(400, "root element must be <xml>")
    return {child.tag: _text_of(child) for child in root}


def _text_of(element: Element) -> str:
    # Nested elements (ScanCodeInfo, SendLocationInfo) are flattened into their leaves' text;
    # the fields we route on are all direct children. Iterative, not recursive: a body of
    # 150 000 nested elements fits in 1 MiB and must not raise RecursionError.
    if len(element):
        return " ".join((leaf.text or "").strip() for leaf in element.iter() if not len(leaf))
    return (element.text or "").strip()


def incoming_from_fields(channel: str, fields: Mapping[str, str]) -> Incoming:
    """Turn a parsed callback into an Incoming, or refuse it as field-less."""
    missing = [name for name in ("ToUserName", "FromUserName", "MsgType") if not fields.get(name)]
    if missing:
        raise ProtocolError(400, f"missing fields: {', '.join(missing)}")
    try:
        created = datetime.fromtimestamp(int(fields.get("CreateTime", "")), TZ)
    except (ValueError, OverflowError, OSError):
        raise ProtocolError(400, "missing or malformed CreateTime") from None
    kind = fields["MsgType"].strip().lower()
    event = fields.get("Event", "").strip().lower() if kind == "event" else ""
    event_key = fields.get("EventKey", "")
    if event == "subscribe" and event_key.startswith("qrscene_"):
        # Scanning a parametric QR code before following: the scene comes prefixed.
        event, event_key = "subscribe_scan", event_key[len("qrscene_") :]
    if event in ("scancode_push", "scancode_waitmsg"):
        event_key = fields.get("ScanCodeInfo", event_key).split(" ")[-1]
    text = fields.get("Recognition", "") if kind == "voice" else fields.get("Content", "")
    return Incoming(
        channel=channel,
        user_id=fields["FromUserName"],
        kind=kind,
        time=created,
        text=text,
        event=event,
        event_key=event_key,
        message_id=fields.get("MsgId", ""),
        account=fields["ToUserName"],
        agent_id=fields.get("AgentID", ""),
    )


# -- AES ---------------------------------------------------------------------------------


def decrypt(account: Account, encrypted: str) -> str:
    """The plaintext sealed in `encrypted`; 403 if it was sealed for another receive id."""
    try:
        return _cipher(account).decrypt(encrypted, account.receive_id)
    except (InvalidAppIdException, InvalidCorpIdException):
        raise ProtocolError(403, "message was not encrypted for this account") from None
    except (ValueError, TypeError, IndexError, struct.error):
        # binascii.Error and UnicodeDecodeError are ValueErrors: not base64, bad padding,
        # not UTF-8 — garbage either way.
        raise ProtocolError(400, "cannot decrypt the message") from None


def _cipher(account: Account) -> MpPrpCrypto | WorkPrpCrypto:
    crypto_class = WorkPrpCrypto if account.channel == WORK else MpPrpCrypto
    return crypto_class(account.key)


def seal(account: Account, plaintext: str) -> str:
    """`plaintext` AES-encrypted for the account's receive id, base64: an <Encrypt> value."""
    return _cipher(account).encrypt(plaintext, account.receive_id).decode()


def encrypt_reply(account: Account, xml: str, timestamp: str | None = None) -> str:
    """Wrap a rendered reply in WeChat's encrypted envelope, signed with a fresh nonce."""
    encrypted = seal(account, xml)
    timestamp = timestamp or str(int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    sig = signature(account.token, timestamp, nonce, encrypted)
    return (
        "<xml>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce><![CDATA[{nonce}]]></Nonce>"
        "</xml>"
    )


# -- XML out -----------------------------------------------------------------------------


def cdata_safe(text: str) -> str:
    """Text that survives inside <![CDATA[...]]>: split any "]]>" across two sections."""
    return XML_INVALID_CHARS.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def render_reply(reply: Reply, incoming: Incoming) -> str:
    """The passive-reply XML for `reply`, addressed back to the sender; "" for EmptyReply."""
    if isinstance(reply, EmptyReply):
        return ""
    module = work_replies if incoming.channel == WORK else mp_replies
    common = {"source": cdata_safe(incoming.account), "target": cdata_safe(incoming.user_id)}
    if incoming.channel == WORK:
        # isdecimal, not isdigit: int() refuses digits like "²" that isdigit accepts.
        common["agent"] = int(incoming.agent_id) if incoming.agent_id.isdecimal() else 0
    if isinstance(reply, TextReply):
        return module.TextReply(content=cdata_safe(reply.content), **common).render()
    if isinstance(reply, NewsReply):
        articles = [
            {
                "title": cdata_safe(a.title),
                "description": cdata_safe(a.description),
                "image": cdata_safe(a.image),
                "url": cdata_safe(a.url),
            }
            for a in reply.articles[:MAX_ARTICLES]
        ]
        return module.ArticlesReply(articles=articles, **common).render()
    raise TypeError(f"not a reply: {reply!r}")


__all__ = [
    "MP",
    "SUCCESS",
    "WORK",
    "Account",
    "ProtocolError",
    "check_signature",
    "check_timestamp",
    "decrypt",
    "encrypt_reply",
    "incoming_from_fields",
    "parse_xml",
    "render_reply",
    "seal",
    "signature",
]
