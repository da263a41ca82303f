"""bot.wechat.protocol against Tencent's published vectors and an independent reference peer.

The reference (tests/wechat_reference.py) is checked against the vectors first; then it and
the vectors check bot.wechat.protocol: signatures, AES both ways, XML refusals, field mapping,
reply rendering and timestamps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from datetime import datetime
from xml.etree import ElementTree

import pytest

from bot.core.clock import TZ
from bot.core.values import MP, WORK, Article, EmptyReply, Incoming, NewsReply, TextReply
from bot.wechat import protocol
from bot.wechat.protocol import Account, ProtocolError
from tests.wechat import wechat_reference as ref
from tests.wechat.vectors import OFFICIAL_ACCOUNT_MESSAGE, WECOM_MESSAGE, WECOM_VERIFY_URL

MP_V = OFFICIAL_ACCOUNT_MESSAGE
WORK_V = WECOM_MESSAGE
VERIFY_V = WECOM_VERIFY_URL

# (id, token, aes_key, receive id, timestamp, nonce, ciphertext, signature, plaintext)
VECTORS = [
    pytest.param(
        MP,
        MP_V.token,
        MP_V.aes_key,
        MP_V.app_id,
        MP_V.timestamp,
        MP_V.nonce,
        MP_V.encrypt,
        MP_V.msg_signature,
        MP_V.expected_plaintext,
        id="mp-message",
    ),
    pytest.param(
        WORK,
        WORK_V.token,
        WORK_V.aes_key,
        WORK_V.corp_id,
        WORK_V.timestamp,
        WORK_V.nonce,
        WORK_V.encrypt,
        WORK_V.msg_signature,
        WORK_V.expected_plaintext,
        id="work-message",
    ),
    pytest.param(
        WORK,
        VERIFY_V.token,
        VERIFY_V.aes_key,
        VERIFY_V.corp_id,
        VERIFY_V.timestamp,
        VERIFY_V.nonce,
        VERIFY_V.echostr,
        VERIFY_V.msg_signature,
        VERIFY_V.expected_plaintext,
        id="work-verify-url",
    ),
]
VECTOR_ARGS = "channel,token,aes_key,receive_id,timestamp,nonce,cipher,sig,plaintext"

TEST_AES_KEY = "dGVzdC1tcC1hZXMta2V5LTMyLWJ5dGVzLWxvbmctISE"
TEST_APPID = "wx1234567890abcdef"
ACCOUNTS = {
    MP: Account(MP, "tok-mp", TEST_AES_KEY, TEST_APPID),
    WORK: Account(WORK, "tok-work", TEST_AES_KEY, "ww_corp_0001", "1000002"),
}


def refused(call: Callable[..., object], *args: object) -> ProtocolError:
    """Call, expecting a ProtocolError with a one-line reason; return it."""
    with pytest.raises(ProtocolError) as caught:
        call(*args)
    error = caught.value
    assert error.reason and "\n" not in error.reason, error.reason
    assert str(error) == error.reason
    return error


# == A. the reference implementation against Tencent's vectors =============================


@pytest.mark.parametrize(VECTOR_ARGS, VECTORS)
def test_reference_signature_matches_vector(
    channel, token, aes_key, receive_id, timestamp, nonce, cipher, sig, plaintext
) -> None:
    assert ref.sign(token, timestamp, nonce, cipher) == sig


@pytest.mark.parametrize(VECTOR_ARGS, VECTORS)
def test_reference_decrypts_vector(
    channel, token, aes_key, receive_id, timestamp, nonce, cipher, sig, plaintext
) -> None:
    opened = ref.open_sealed(aes_key, cipher)
    assert opened.message == plaintext
    assert opened.receive_id == receive_id
    assert ref.decrypt(aes_key, cipher, receive_id) == plaintext


@pytest.mark.parametrize(VECTOR_ARGS, VECTORS)
def test_reference_reencrypts_vector_byte_for_byte(
    channel, token, aes_key, receive_id, timestamp, nonce, cipher, sig, plaintext
) -> None:
    # Given the vector's own 16 random bytes, encryption is deterministic: same key, IV,
    # layout and 32-byte padding must give Tencent's exact ciphertext.
    prefix = ref.open_sealed(aes_key, cipher).prefix
    assert ref.encrypt(aes_key, plaintext, receive_id, prefix=prefix) == cipher


def test_reference_signature_without_ciphertext() -> None:
    # Plaintext mode and the 公众号 URL check sign only token, timestamp and nonce.
    expected = hashlib.sha1("".join(sorted(["tok", "1700000000", "42"])).encode()).hexdigest()
    assert ref.sign("tok", "1700000000", "42") == expected


@pytest.mark.parametrize("length", [0, 1, 11, 12, 13, 43, 44, 45, 100])
def test_reference_pads_to_whole_32_byte_blocks(length: int) -> None:
    # Prefix (16) + length (4) + message + "ab" (2): length 10 → 32 bytes exactly, which
    # still gets a whole block of padding.
    sealed = ref.encrypt(TEST_AES_KEY, "x" * length, "ab")
    raw = base64.b64decode(sealed)
    unpadded = 16 + 4 + length + 2
    assert len(raw) % 32 == 0
    assert len(raw) - unpadded == 32 - unpadded % 32
    assert ref.decrypt(TEST_AES_KEY, sealed, "ab") == "x" * length


@pytest.mark.parametrize(
    "cipher",
    [
        pytest.param("", id="empty"),
        pytest.param("!!not base64!!", id="not-base64"),
        pytest.param(base64.b64encode(b"\0" * 16).decode(), id="half-block"),
        pytest.param(MP_V.encrypt[:-4], id="truncated"),
    ],
)
def test_reference_refuses_garbage(cipher: str) -> None:
    with pytest.raises(ref.PeerRefused):
        ref.open_sealed(MP_V.aes_key, cipher)


def test_reference_refuses_wrong_receive_id_and_bad_padding() -> None:
    with pytest.raises(ref.PeerRefused, match="sealed for"):
        ref.decrypt(MP_V.aes_key, MP_V.encrypt, "wx_someone_else")
    bad_padding = ref.seal_raw(TEST_AES_KEY, os.urandom(16) + b"\0" * 15 + b"\x05")
    with pytest.raises(ref.PeerRefused, match="padding"):
        ref.open_sealed(TEST_AES_KEY, bad_padding)


# == A/B. bot.wechat.protocol and the reference agree both ways ===================================

MESSAGES = [
    pytest.param("<xml><a>1</a></xml>", id="xml"),
    pytest.param("你好，图书馆几点开门？📚", id="chinese-emoji"),
    pytest.param("", id="empty"),
    pytest.param("]]>" * 7, id="cdata-end"),
    pytest.param("长" * 3000, id="long"),
]


@pytest.mark.parametrize("channel", [MP, WORK])
@pytest.mark.parametrize("message", MESSAGES)
def test_protocol_decrypts_what_the_reference_encrypts(channel: str, message: str) -> None:
    account = ACCOUNTS[channel]
    sealed = ref.encrypt(account.aes_key, message, account.receive_id)
    assert protocol.decrypt(account, sealed) == message


@pytest.mark.parametrize("channel", [MP, WORK])
@pytest.mark.parametrize("message", MESSAGES)
def test_reference_opens_protocol_envelope(channel: str, message: str) -> None:
    account = ACCOUNTS[channel]
    envelope = protocol.encrypt_reply(account, message, "1700000123")
    outer = ref.read_xml(envelope)
    assert outer["TimeStamp"] == "1700000123"
    assert outer["MsgSignature"] == ref.sign(
        account.token, "1700000123", outer["Nonce"], outer["Encrypt"]
    )
    keys = ref.Keys(account.token, account.aes_key, account.receive_id)
    opened = ref.open_sealed(account.aes_key, outer["Encrypt"])
    assert (opened.message, opened.receive_id) == (message, account.receive_id)
    if message.startswith("<xml>"):
        assert ref.decode_reply(keys, envelope).fields == {"a": "1"}


def test_encrypt_reply_uses_fresh_random_prefix_and_nonce() -> None:
    account = ACCOUNTS[MP]
    first = ref.read_xml(protocol.encrypt_reply(account, "same", "1700000000"))
    second = ref.read_xml(protocol.encrypt_reply(account, "same", "1700000000"))
    assert first["Encrypt"] != second["Encrypt"]
    assert ref.open_sealed(account.aes_key, first["Encrypt"]).prefix != (
        ref.open_sealed(account.aes_key, second["Encrypt"]).prefix
    )


# == B. signatures =============================================================================


@pytest.mark.parametrize(VECTOR_ARGS, VECTORS)
def test_protocol_signature_matches_vector(
    channel, token, aes_key, receive_id, timestamp, nonce, cipher, sig, plaintext
) -> None:
    assert protocol.signature(token, timestamp, nonce, cipher) == sig
    protocol.check_signature(sig, token, timestamp, nonce, cipher)
    # WeChat sends lower-case hex; an upper-case copy of the right digest is the same digest.
    protocol.check_signature(sig.upper(), token, timestamp, nonce, cipher)


def test_protocol_signature_without_ciphertext_matches_reference() -> None:
    assert protocol.signature("tok", "1700000000", "42") == ref.sign("tok", "1700000000", "42")


WRONG_SIGNATURES = [
    pytest.param(None, "missing signature", id="none"),
    pytest.param("", "missing signature", id="empty"),
    pytest.param("0" * 40, "bad signature", id="zeros"),
    pytest.param(WORK_V.msg_signature[:-1] + "0", "bad signature", id="last-digit"),
    pytest.param(WORK_V.msg_signature[:-1], "bad signature", id="truncated"),
    pytest.param(WORK_V.msg_signature + "0", "bad signature", id="too-long"),
    pytest.param("签名" * 10, "bad signature", id="non-ascii"),
    pytest.param(VERIFY_V.msg_signature, "bad signature", id="other-vector"),
]


@pytest.mark.parametrize("given,reason", WRONG_SIGNATURES)
def test_check_signature_refuses_wrong_or_missing(given: str | None, reason: str) -> None:
    v = WORK_V
    error = refused(protocol.check_signature, given, v.token, v.timestamp, v.nonce, v.encrypt)
    assert (error.status, error.reason) == (403, reason)


@pytest.mark.parametrize(
    "part", ["token", "timestamp", "nonce", "encrypt"], ids=lambda p: f"changed-{p}"
)
def test_check_signature_covers_every_part(part: str) -> None:
    v = WORK_V
    parts = {"token": v.token, "timestamp": v.timestamp, "nonce": v.nonce, "encrypt": v.encrypt}
    parts[part] += "1"
    error = refused(
        protocol.check_signature,
        v.msg_signature,
        parts["token"],
        parts["timestamp"],
        parts["nonce"],
        parts["encrypt"],
    )
    assert error.status == 403


def test_check_signature_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every comparison, right or wrong, goes through hmac.compare_digest.
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(protocol.hmac, "compare_digest", spy)
    v = WORK_V
    protocol.check_signature(v.msg_signature, v.token, v.timestamp, v.nonce, v.encrypt)
    refused(protocol.check_signature, "f" * 40, v.token, v.timestamp, v.nonce, v.encrypt)
    assert [b for _, b in seen] == [v.msg_signature.encode()] * 2
    assert [a for a, _ in seen] == [v.msg_signature.encode(), b"f" * 40]


# == B. AES through bot.wechat.protocol ===================================================


@pytest.mark.parametrize(VECTOR_ARGS, VECTORS)
def test_protocol_decrypts_vector(
    channel, token, aes_key, receive_id, timestamp, nonce, cipher, sig, plaintext
) -> None:
    assert protocol.decrypt(Account(channel, token, aes_key, receive_id), cipher) == plaintext


@pytest.mark.parametrize(VECTOR_ARGS, VECTORS)
def test_protocol_refuses_vector_for_another_receive_id(
    channel, token, aes_key, receive_id, timestamp, nonce, cipher, sig, plaintext
) -> None:
    account = Account(channel, token, aes_key, receive_id + "x")
    error = refused(protocol.decrypt, account, cipher)
    assert (error.status, error.reason) == (403, "message was not encrypted for this account")


def _sealed_plain(length_field: int, body: bytes, receive_id: bytes, pad: int | None) -> str:
    plain = b"\x01" * 16 + struct.pack(">I", length_field) + body + receive_id
    amount = 32 - len(plain) % 32
    plain += bytes([amount if pad is None else pad]) * amount
    return ref.seal_raw(TEST_AES_KEY, plain)


GARBAGE = [
    pytest.param("", id="empty"),
    pytest.param("@@@@", id="no-base64-characters"),
    pytest.param("YWJj=", id="bad-base64-padding"),
    pytest.param(base64.b64encode(b"0123456789").decode(), id="not-whole-blocks"),
    pytest.param(base64.b64encode(b"\0" * 17).decode(), id="seventeen-bytes"),
    pytest.param(MP_V.encrypt[:-24] + "====", id="truncated-vector"),
    pytest.param(_sealed_plain(3, b"\xff\xfe\xfd", TEST_APPID.encode(), None), id="not-utf8"),
    pytest.param(_sealed_plain(1, b"x", TEST_APPID.encode(), 0), id="zero-padding-byte"),
]


@pytest.mark.parametrize("cipher", GARBAGE)
def test_protocol_decrypt_refuses_garbage_with_400(cipher: str) -> None:
    account = Account(MP, "tok", TEST_AES_KEY, TEST_APPID)
    error = refused(protocol.decrypt, account, cipher)
    assert (error.status, error.reason) == (400, "cannot decrypt the message")


def test_protocol_decrypt_accepts_a_well_formed_hand_sealed_message() -> None:
    # The counterpart of the garbage cases: the same builder, honest fields, decrypts.
    cipher = _sealed_plain(5, b"hello", TEST_APPID.encode(), None)
    assert protocol.decrypt(Account(MP, "tok", TEST_AES_KEY, TEST_APPID), cipher) == "hello"


# == B. parse_xml ==============================================================================

XXE_FILE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content></xml>"
)
XXE_PARAMETER = (
    '<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>'
    "<xml><Content>x</Content></xml>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><xml><Content>&lol9;</Content></xml>"
)
REFUSED_XML = [
    pytest.param(b"", "empty body", id="empty-bytes"),
    pytest.param("", "empty body", id="empty-str"),
    pytest.param(b" \r\n\t ", "empty body", id="whitespace"),
    pytest.param(b"<xml><Content>a</xml>", "malformed XML", id="mismatched-tag"),
    pytest.param(b"<xml><Content>a</Content>", "malformed XML", id="unclosed-root"),
    pytest.param(b"hello, library", "malformed XML", id="not-xml"),
    pytest.param(b"<xml></xml><xml></xml>", "malformed XML", id="two-roots"),
    pytest.param(b"<xml><a>\xff\xfe</a></xml>", "malformed XML", id="invalid-utf8"),
    pytest.param(b"<xml><a>&#0;</a></xml>", "malformed XML", id="nul-reference"),
    pytest.param(
        b'<?xml version="1.0" encoding="no-such-encoding"?><xml/>',
        "malformed XML",
        id="unknown-encoding",
    ),
    pytest.param(b"<root><MsgType>text</MsgType></root>", "root element must be <xml>", id="root"),
    pytest.param(b'<xml xmlns="urn:x"><a>1</a></xml>', "root element must be <xml>", id="ns-root"),
    pytest.param(XXE_FILE, "XML with a DTD or entities is not accepted", id="xxe-file"),
    pytest.param(XXE_PARAMETER, "XML with a DTD or entities is not accepted", id="xxe-parameter"),
    pytest.param(BILLION_LAUGHS, "XML with a DTD or entities is not accepted", id="billion-laughs"),
    pytest.param(
        "<!DOCTYPE xml><xml><a>1</a></xml>",
        "XML with a DTD or entities is not accepted",
        id="dtd-without-entities",
    ),
    pytest.param(
        "<!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><a>1</a></xml>",
        "XML with a DTD or entities is not accepted",
        id="internal-dtd",
    ),
]


@pytest.mark.parametrize("body,reason", REFUSED_XML)
def test_parse_xml_refuses(body: bytes | str, reason: str) -> None:
    error = refused(protocol.parse_xml, body)
    assert (error.status, error.reason) == (400, reason)
    assert "passwd" not in error.reason and "root:" not in error.reason


ACCEPTED_XML = [
    pytest.param(
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>17</CreateTime></xml>",
        {"ToUserName": "gh_1", "CreateTime": "17"},
        id="cdata-and-number",
    ),
    pytest.param(
        '<?xml version="1.0" encoding="utf-8"?><xml><Content>图书馆</Content></xml>',
        {"Content": "图书馆"},
        id="declaration-str",
    ),
    pytest.param(
        '<?xml version="1.0" encoding="utf-8"?><xml><Content>图书馆</Content></xml>'.encode(),
        {"Content": "图书馆"},
        id="declaration-bytes",
    ),
    pytest.param(
        b"<xml><Content>a &amp; b &lt;c&gt;</Content></xml>",
        {"Content": "a & b <c>"},
        id="predefined-entities",
    ),
    pytest.param(
        b"<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>",
        {"Content": "a]]>b"},
        id="split-cdata",
    ),
    pytest.param(
        b"<xml><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>seat:12</ScanResult>"
        b"</ScanCodeInfo></xml>",
        {"ScanCodeInfo": "qrcode seat:12"},
        id="nested-flattened",
    ),
    pytest.param(b"<xml/>", {}, id="empty-root"),
]


@pytest.mark.parametrize("body,fields", ACCEPTED_XML)
def test_parse_xml_accepts(body: bytes | str, fields: dict[str, str]) -> None:
    assert protocol.parse_xml(body) == fields


def test_parse_xml_survives_deep_nesting_within_one_mebibyte() -> None:
    # 140 000 nested elements fit under the 1 MiB body limit; flattening them must not
    # recurse (RecursionError would escape as a 500).
    depth = 140_000
    body = b"<xml><Deep>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</Deep></xml>"
    assert len(body) < 1024 * 1024
    assert protocol.parse_xml(body) == {"Deep": "x"}


# == B. incoming_from_fields ===================================================================

BASE_FIELDS = {
    "ToUserName": "gh_library",
    "FromUserName": "o_reader_1",
    "CreateTime": "1773194400",
    "MsgType": "text",
    "Content": "几点开门",
    "MsgId": "6054768590064713728",
}


@pytest.mark.parametrize("name", ["ToUserName", "FromUserName", "MsgType", "CreateTime"])
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_incoming_refuses_missing_field(name: str, how: str) -> None:
    fields = dict(BASE_FIELDS)
    if how == "absent":
        del fields[name]
    else:
        fields[name] = ""
    error = refused(protocol.incoming_from_fields, MP, fields)
    assert error.status == 400
    assert name in error.reason


def test_incoming_names_every_missing_field() -> None:
    error = refused(protocol.incoming_from_fields, MP, {})
    assert error.reason == "missing fields: ToUserName, FromUserName, MsgType"


@pytest.mark.parametrize("value", ["soon", "1.5", "9" * 30, "-99999999999999999"])
def test_incoming_refuses_malformed_create_time(value: str) -> None:
    error = refused(protocol.incoming_from_fields, MP, {**BASE_FIELDS, "CreateTime": value})
    assert (error.status, error.reason) == (400, "missing or malformed CreateTime")


def test_incoming_text() -> None:
    incoming = protocol.incoming_from_fields(WORK, {**BASE_FIELDS, "AgentID": "1000002"})
    assert incoming == Incoming(
        channel=WORK,
        user_id="o_reader_1",
        kind="text",
        time=datetime(2026, 3, 11, 10, 0, tzinfo=TZ),
        text="几点开门",
        event="",
        event_key="",
        message_id="6054768590064713728",
        account="gh_library",
        agent_id="1000002",
    )
    assert incoming.time.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]


def _event(event: str, key: str | None = None, **extra: str) -> dict[str, str]:
    fields = {**BASE_FIELDS, "MsgType": "event", "Event": event, **extra}
    del fields["Content"], fields["MsgId"]
    if key is not None:
        fields["EventKey"] = key
    return fields


MAPPED = [
    pytest.param(
        {**BASE_FIELDS, "MsgType": "voice", "Recognition": "几点开门？", "Content": ""},
        ("voice", "几点开门？", "", ""),
        id="voice-recognition-is-text",
    ),
    pytest.param(
        {**BASE_FIELDS, "MsgType": "voice", "Content": "ignored", "Recognition": ""},
        ("voice", "", "", ""),
        id="voice-without-recognition",
    ),
    pytest.param(
        {**BASE_FIELDS, "MsgType": "TEXT"}, ("text", "几点开门", "", ""), id="kind-lowercased"
    ),
    pytest.param(_event("subscribe"), ("event", "", "subscribe", ""), id="subscribe"),
    pytest.param(
        _event("subscribe", "qrscene_seat:A-12"),
        ("event", "", "subscribe_scan", "seat:A-12"),
        id="subscribe-with-scene",
    ),
    pytest.param(
        _event("subscribe", "qrscene_"), ("event", "", "subscribe_scan", ""), id="empty-scene"
    ),
    pytest.param(
        _event("subscribe", "seat:qrscene_x"),
        ("event", "", "subscribe", "seat:qrscene_x"),
        id="prefix-only-at-start",
    ),
    pytest.param(_event("unsubscribe", ""), ("event", "", "unsubscribe", ""), id="unsubscribe"),
    pytest.param(_event("SCAN", "seat:A-12"), ("event", "", "scan", "seat:A-12"), id="scan"),
    pytest.param(_event("CLICK", "HOURS"), ("event", "", "click", "HOURS"), id="click"),
    pytest.param(_event("View", "https://x"), ("event", "", "view", "https://x"), id="view"),
    pytest.param(
        _event("scancode_push", "SCAN_BTN", ScanCodeInfo="qrcode seat:B-3"),
        ("event", "", "scancode_push", "seat:B-3"),
        id="scancode-push",
    ),
    pytest.param(
        {**BASE_FIELDS, "MsgType": "text", "Event": "subscribe"},
        ("text", "几点开门", "", ""),
        id="event-ignored-on-messages",
    ),
]


@pytest.mark.parametrize("fields,expected", MAPPED)
def test_incoming_maps_kind_text_event_and_key(
    fields: dict[str, str], expected: tuple[str, str, str, str]
) -> None:
    incoming = protocol.incoming_from_fields(MP, fields)
    assert (incoming.kind, incoming.text, incoming.event, incoming.event_key) == expected
    assert incoming.user_id == "o_reader_1" and incoming.account == "gh_library"


def test_incoming_from_vector_plaintext() -> None:
    fields = protocol.parse_xml(
        protocol.decrypt(Account(WORK, "", WORK_V.aes_key, WORK_V.corp_id), WORK_V.encrypt)
    )
    incoming = protocol.incoming_from_fields(WORK, fields)
    assert (incoming.user_id, incoming.text, incoming.agent_id, incoming.message_id) == (
        "mycreate",
        "hello",
        "218",
        "4561255354251345929",
    )


# == B. render_reply ===========================================================================


def _incoming(channel: str = MP, agent_id: str = "") -> Incoming:
    return Incoming(
        channel=channel,
        user_id="o_reader_1",
        kind="text",
        time=datetime(2026, 3, 11, 10, 0, tzinfo=TZ),
        text="hi",
        account="gh_library",
        agent_id=agent_id,
    )


def _stdlib_fields(xml: str) -> dict[str, str]:
    # The standard library's parser, not bot.wechat.protocol's: an independent reader of our XML.
    return {child.tag: child.text or "" for child in ElementTree.fromstring(xml)}


CONTENTS = [
    pytest.param("a]]>b", id="one-cdata-end"),
    pytest.param("]]>x]]>y]]>", id="several"),
    pytest.param("结尾是]]>", id="at-the-end"),
    pytest.param("]]>", id="only"),
    pytest.param("]]]]>>", id="nested-looking"),
    pytest.param("]]", id="half"),
    pytest.param("<b>&amp;</b> <![CDATA[x]]>", id="markup"),
    pytest.param("多行\n文字\t和 emoji 📚", id="multiline"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("channel", [MP, WORK])
@pytest.mark.parametrize("content", CONTENTS)
def test_render_text_reply_round_trips_content(channel: str, content: str) -> None:
    xml = protocol.render_reply(TextReply(content), _incoming(channel, "1000002"))
    fields = _stdlib_fields(xml)
    assert fields["Content"] == content
    assert fields["MsgType"] == "text"
    assert fields["ToUserName"] == "o_reader_1"
    assert fields["FromUserName"] == "gh_library"
    assert fields["CreateTime"].isdigit()
    if channel == WORK:
        assert fields["AgentID"] == "1000002"
    else:
        assert "AgentID" not in fields


@pytest.mark.parametrize(
    "content,shown",
    [
        ("a\x00b\x01c\x08d", "abcd"),
        ("a\x0bb\x0cc", "abc"),
        ("a\x0eb\x1fc\x7f", "abc\x7f"),  # DEL is legal in XML 1.0
        ("keep\ttab\nnewline", "keep\ttab\nnewline"),
        ("a\ufffeb\uffffc", "abc"),
        ("\x1b[31mred]]>\x1b[0m", "[31mred]]>[0m"),
    ],
)
def test_render_strips_characters_xml_forbids(content: str, shown: str) -> None:
    xml = protocol.render_reply(TextReply(content), _incoming())
    assert _stdlib_fields(xml)["Content"] == shown


@pytest.mark.parametrize("agent_id,rendered", [("1000002", "1000002"), ("", "0"), ("²", "0")])
def test_render_work_agent_id(agent_id: str, rendered: str) -> None:
    xml = protocol.render_reply(TextReply("x"), _incoming(WORK, agent_id))
    assert _stdlib_fields(xml)["AgentID"] == rendered


@pytest.mark.parametrize("channel", [MP, WORK])
def test_render_news_reply(channel: str) -> None:
    articles = (
        Article(
            "新书]]>通报", "本周新到 12 种", "https://lib.example/new?a=1&b=2", "https://i/1.png"
        ),
        Article("讲座 <预告>", "", "https://lib.example/talk", ""),
    )
    xml = protocol.render_reply(NewsReply(articles), _incoming(channel, "7"))
    root = ElementTree.fromstring(xml)
    assert root.findtext("MsgType") == "news"
    assert root.findtext("ArticleCount") == "2"
    assert root.findtext("ToUserName") == "o_reader_1"
    items = [{c.tag: c.text or "" for c in item} for item in root.iter("item")]
    assert items == [
        {
            "Title": a.title,
            "Description": a.description,
            "PicUrl": a.image,
            "Url": a.url,
        }
        for a in articles
    ]
    assert ref.news_articles(xml) == items


def test_render_news_reply_keeps_at_most_eight_articles() -> None:
    articles = tuple(Article(f"第{i}篇") for i in range(12))
    root = ElementTree.fromstring(protocol.render_reply(NewsReply(articles), _incoming()))
    assert root.findtext("ArticleCount") == "8"
    assert [item.findtext("Title") for item in root.iter("item")] == [f"第{i}篇" for i in range(8)]


@pytest.mark.parametrize("channel", [MP, WORK])
def test_render_empty_reply_is_empty(channel: str) -> None:
    assert protocol.render_reply(EmptyReply(), _incoming(channel)) == ""


def test_render_refuses_what_is_not_a_reply() -> None:
    with pytest.raises(TypeError):
        protocol.render_reply("just a string", _incoming())  # type: ignore[arg-type]


# == B. check_timestamp ========================================================================

NOW = 1_773_194_400.0  # 2026-03-11 10:00 Asia/Shanghai


@pytest.mark.parametrize(
    "offset,tolerance,ok",
    [
        (0, 300, True),
        (299, 300, True),
        (-299, 300, True),
        (300, 300, True),
        (-300, 300, True),
        (301, 300, False),
        (-301, 300, False),
        (86_400, 300, False),
        (30, 30, True),
        (-31, 30, False),
        (0, 0, True),
        (1, 0, False),
    ],
)
def test_check_timestamp_tolerance(offset: int, tolerance: int, ok: bool) -> None:
    stamp = str(int(NOW) + offset)
    if ok:
        protocol.check_timestamp(stamp, NOW, tolerance)
    else:
        error = refused(protocol.check_timestamp, stamp, NOW, tolerance)
        assert (error.status, error.reason) == (403, f"timestamp more than {tolerance} s from now")


def test_check_timestamp_uses_fractional_now() -> None:
    # Exactly at the tolerance is fine; a quarter of a second beyond is not.
    protocol.check_timestamp(str(int(NOW) - 300), NOW, 300)
    refused(protocol.check_timestamp, str(int(NOW) - 300), NOW + 0.25, 300)


@pytest.mark.parametrize("value", [None, "", "soon", "1773194400.0", "1e9", "0x69b0c4a0", "NaN"])
def test_check_timestamp_refuses_non_numeric(value: str | None) -> None:
    error = refused(protocol.check_timestamp, value, NOW, 300)
    assert (error.status, error.reason) == (403, "missing or malformed timestamp")


@pytest.mark.parametrize("value", ["9" * 400, "-" + "9" * 400])
def test_check_timestamp_refuses_huge_numbers_without_overflow(value: str) -> None:
    error = refused(protocol.check_timestamp, value, NOW, 10**10)
    assert error.status == 403


def test_render_survives_lone_surrogates_and_odd_user_ids() -> None:
    from bot.core.clock import TZ
    from bot.core.values import Incoming, TextReply
    from bot.wechat.protocol import render_reply

    incoming = Incoming("mp", "o]]>odd", "text", datetime(2026, 11, 21, tzinfo=TZ), account="gh_x")
    xml = render_reply(TextReply("a\ud800b"), incoming)
    root = ElementTree.fromstring(xml.encode("utf-8"))
    assert root.findtext("Content") == "ab"
    assert root.findtext("ToUserName") == "o]]>odd"
