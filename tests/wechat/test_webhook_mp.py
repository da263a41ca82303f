"""The 公众号 endpoint, /wechat/mp, end to end through the Flask test client.

Most requests are built by tests/wechat_reference.py, a peer that shares no code with the
server; a few use the project's own WeChatPeer (bot.dev.callback_client) too, and one replays
Tencent's published sample. Every app runs on a fresh SQLite file.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core import users
from bot.core.clock import TZ, fixed_clock
from bot.core.values import MP
from bot.dev.callback_client import WeChatPeer, reply_text
from bot.wechat import webhook
from bot.wechat import words as messages
from handlers import greeting
from handlers.kit.actions import Capability, Events, LibraryAction
from handlers.library import hours_text
from handlers.registry import CAPABILITIES
from intents.result import ParseResult
from tests.conftest import TEST_KEYS, post
from tests.wechat import wechat_reference as ref
from tests.wechat.vectors import OFFICIAL_ACCOUNT_MESSAGE

MODES = ("plain", "compatible", "safe")
LIBRARY_NAME = "测试大学图书馆"
LIBRARY_TOML = f"""
[library]
name = "{LIBRARY_NAME}"

[hours]
monday = "07:30-22:00"
tuesday = "07:30-22:00"
wednesday = "07:30-22:00"
thursday = "07:30-22:00"
friday = "07:30-22:00"
saturday = "09:00-21:00"
sunday = "09:00-21:00"

[menu.keys]
HOURS = "opening_hours"
HELP = "help"
"""
# A Wednesday in term time: no holiday, closure or special day near it.
NOW = datetime(2026, 3, 11, 10, 0, tzinfo=TZ)
NOW_TS = int(NOW.timestamp())

KEYS = ref.Keys(
    token=TEST_KEYS["mp_token"],
    encoding_aes_key=TEST_KEYS["mp_aes_key"],
    receive_id=TEST_KEYS["mp_appid"],
    account_name="gh_guanban_test",
)


@pytest.fixture
def library_file(tmp_path: Path) -> Path:
    path = tmp_path / "library.toml"
    path.write_text(LIBRARY_TOML, encoding="utf-8")
    return path


@pytest.fixture
def build(make_app: Any, library_file: Path) -> Any:
    """make_app with this module's library file and a clock standing at NOW."""

    def make(**overrides: Any) -> Any:
        return make_app(library_config=str(library_file), clock=fixed_clock(NOW), **overrides)

    return make


@pytest.fixture
def mp_app(build: Any) -> Any:
    return build()


@pytest.fixture
def mp_client(mp_app: Any) -> Any:
    return mp_app.test_client()


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> int:
    """Server, reference peer and handlers all stand at NOW, a whole second.

    The app's clock is fixed_clock(NOW) (see `build`); the webhook's timestamp check reads
    time.time() in bot.wechat.webhook, so that is stood at NOW too, and so is the reference peer's
    clock. Boundaries (300 s, 301 s) are then exact, and the tests hold whether the timestamp
    check reads time.time() or the injected clock.
    """
    monkeypatch.setattr(webhook, "time", SimpleNamespace(time=lambda: float(NOW_TS)))
    monkeypatch.setattr(ref, "now", lambda: NOW_TS)
    return NOW_TS


def db_of(app: Any) -> Any:
    return app.extensions["guanban"].services.db()


def ask(client: Any, mode: str, xml: str, keys: ref.Keys = KEYS, **stamp: Any) -> ref.Reply:
    """Send `xml` in `mode`; the reply must be 200, encrypted exactly when the request was."""
    response = ref.send(client, ref.MP_BUILDERS[mode](keys, xml, **stamp))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    reply = ref.decode_reply(keys, response.get_data())
    assert reply.encrypted == (mode != "plain")
    return reply


def assert_refused(response: Any, status: int, reason: str | None = None) -> str:
    """A refusal is one plain-text line with the status asked for, never a traceback."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.mimetype == "text/plain"
    assert body.endswith("\n") and body.count("\n") == 1, body
    assert "Traceback" not in body and "File " not in body
    if reason is not None:
        assert body == reason + "\n"
    return body


def never_seen(app: Any, user: str) -> None:
    assert users.get(db_of(app), MP, user) is None, "a refused request reached the pipeline"


def text_content(reply: ref.Reply) -> str:
    assert reply.fields["MsgType"] == "text", reply.xml
    return reply.fields["Content"]


# == GET verification ========================================================================


def test_get_verification_echoes_echostr(mp_client: Any) -> None:
    response = ref.send(mp_client, ref.mp_verify_get(KEYS, "8167445591827419231"))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "8167445591827419231"
    assert response.mimetype == "text/plain"


def test_get_verification_from_callback_client_peer(
    make_app: Any, mp_plain_peer: WeChatPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeChatPeer.verification stamps with the real time: so does this app, unpinned.
    monkeypatch.setattr(webhook, "time", time)
    client = make_app().test_client()
    response = client.get(mp_plain_peer.verification("echo-from-peer").url_path)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "echo-from-peer")


def _tamper(request: ref.Request, **query: str | None) -> ref.Request:
    merged = {**request.query, **query}
    return replace(request, query={k: v for k, v in merged.items() if v is not None})


@pytest.mark.parametrize(
    "change,reason",
    [
        pytest.param({"signature": "0" * 40}, "bad signature", id="bad-signature"),
        pytest.param({"signature": None}, "missing signature", id="missing-signature"),
        pytest.param({"nonce": "other"}, "bad signature", id="nonce-changed"),
        pytest.param({"timestamp": None}, "bad signature", id="timestamp-dropped"),
    ],
)
def test_get_verification_refuses_bad_signature(
    mp_client: Any, change: dict[str, str | None], reason: str
) -> None:
    request = _tamper(ref.mp_verify_get(KEYS, "echo-secret-1"), **change)
    body = assert_refused(ref.send(mp_client, request), 403, reason)
    assert "echo-secret-1" not in body


def test_get_verification_refuses_wrong_token(mp_client: Any) -> None:
    request = ref.mp_verify_get(replace(KEYS, token="not-our-token"), "echo-secret-2")
    assert_refused(ref.send(mp_client, request), 403, "bad signature")


@pytest.mark.parametrize("offset,status", [(-301, 403), (301, 403), (-299, 200), (300, 200)])
def test_get_verification_timestamp_window(
    mp_client: Any, pinned_now: int, offset: int, status: int
) -> None:
    request = ref.mp_verify_get(KEYS, "echo-3", timestamp=pinned_now + offset)
    response = ref.send(mp_client, request)
    if status == 200:
        assert (response.status_code, response.get_data(as_text=True)) == (200, "echo-3")
    else:
        assert_refused(response, 403, "timestamp more than 300 s from now")


# == POST: the three modes ===================================================================


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_answers_hello_with_text(mp_client: Any, mode: str) -> None:
    user = f"o_reader_{mode}"
    reply = ask(mp_client, mode, ref.text_message(KEYS, user, "你好"))
    assert reply.fields["ToUserName"] == user
    assert reply.fields["FromUserName"] == KEYS.account_name
    assert reply.fields["CreateTime"].isdigit()
    assert text_content(reply) == greeting.GREETING.format(name=LIBRARY_NAME)


@pytest.mark.parametrize("peer_fixture", ["mp_plain_peer", "mp_compatible_peer", "mp_peer"])
def test_each_mode_answers_hello_to_callback_client_peer(
    mp_client: Any, peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    peer: WeChatPeer = request.getfixturevalue(peer_fixture)
    callback = peer.message(
        "o_peer_reader", "text", {"Content": "你好", "MsgId": "4201"}, timestamp=NOW_TS
    )
    response = post(mp_client, callback)
    assert response.status_code == 200
    assert ("<Encrypt>" in response.get_data(as_text=True)) == (peer.mode != "plain")
    fields = peer.read_reply(response.get_data())
    assert fields["ToUserName"] == "o_peer_reader"
    assert reply_text(fields) == greeting.GREETING.format(name=LIBRARY_NAME)


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_encrypted_reply_envelope_is_signed_and_sealed_for_our_appid(
    mp_client: Any, mode: str
) -> None:
    response = ref.send(
        mp_client, ref.MP_BUILDERS[mode](KEYS, ref.text_message(KEYS, "o_e", "你好"))
    )
    outer = ref.read_xml(response.get_data())
    assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert outer["TimeStamp"].isdigit() and outer["Nonce"]
    assert outer["MsgSignature"] == ref.sign(
        KEYS.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]
    )
    opened = ref.open_sealed(KEYS.encoding_aes_key, outer["Encrypt"])
    assert opened.receive_id == KEYS.receive_id
    assert ref.read_xml(opened.message)["ToUserName"] == "o_e"


def test_compatible_mode_believes_the_ciphertext_not_the_plain_copy(mp_client: Any) -> None:
    # In compatible mode the plaintext copy is not covered by msg_signature: only the
    # sealed copy may decide who asked what.
    sealed = ref.text_message(KEYS, "o_real_sender", "你好")
    request = ref.mp_compatible_post(KEYS, sealed)
    decoy = ref.text_message(KEYS, "o_decoy", "转人工")
    body = decoy[: decoy.rindex("</xml>")] + request.body[request.body.index("<Encrypt>") :]
    reply = ref.decode_reply(KEYS, ref.send(mp_client, replace(request, body=body)).get_data())
    assert reply.fields["ToUserName"] == "o_real_sender"
    assert text_content(reply) == greeting.GREETING.format(name=LIBRARY_NAME)
    never_seen(mp_client.application, "o_decoy")


def test_tencent_sample_message_is_answered_encrypted(build: Any) -> None:
    v = OFFICIAL_ACCOUNT_MESSAGE
    app = build(
        mp_token=v.token, mp_aes_key=v.aes_key, mp_appid=v.app_id, timestamp_tolerance=10**10
    )
    query = {
        "timestamp": v.timestamp,
        "nonce": v.nonce,
        "encrypt_type": "aes",
        "msg_signature": v.msg_signature,
    }
    response = app.test_client().post(
        "/wechat/mp", query_string=query, data=v.body.encode(), content_type="text/xml"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    keys = ref.Keys(v.token, v.aes_key, v.app_id)
    reply = ref.decode_reply(keys, response.get_data())
    assert reply.encrypted
    assert reply.fields["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert reply.fields["FromUserName"] == "gh_10f6c3c3ac5a"
    # "abcdteT" means nothing to the bot: it says so politely.
    assert text_content(reply) == messages.NOT_UNDERSTOOD
    user = users.get(db_of(app), MP, "oyORnuP8q7ou2gfYjqLzSIWZf0rs")
    assert user is not None and user["subscribed"] is True


@pytest.mark.parametrize(
    "settings,change,status,reason",
    [
        pytest.param(
            {"timestamp_tolerance": 300},
            {},
            403,
            "timestamp more than 300 s from now",
            id="replayed-from-2014",
        ),
        pytest.param(
            {"timestamp_tolerance": 10**10},
            {"msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fb"},
            403,
            "bad signature",
            id="msg-signature-off-by-one",
        ),
        pytest.param(
            {"timestamp_tolerance": 10**10, "mp_appid": "wx_some_other_app"},
            {},
            403,
            "message was not encrypted for this account",
            id="other-appid",
        ),
    ],
)
def test_tencent_sample_message_refused(
    build: Any, settings: dict[str, Any], change: dict[str, str], status: int, reason: str
) -> None:
    v = OFFICIAL_ACCOUNT_MESSAGE
    config = {"mp_token": v.token, "mp_aes_key": v.aes_key, "mp_appid": v.app_id, **settings}
    app = build(**config)
    query = {
        "timestamp": v.timestamp,
        "nonce": v.nonce,
        "encrypt_type": "aes",
        "msg_signature": v.msg_signature,
        **change,
    }
    response = app.test_client().post(
        "/wechat/mp", query_string=query, data=v.body.encode(), content_type="text/xml"
    )
    assert_refused(response, status, reason)
    never_seen(app, "oyORnuP8q7ou2gfYjqLzSIWZf0rs")


# == POST: forged, stale and broken requests ================================================


@pytest.mark.parametrize(
    "mode,change,reason",
    [
        pytest.param("plain", {"signature": "f" * 40}, "bad signature", id="plain-forged"),
        pytest.param("plain", {"signature": None}, "missing signature", id="plain-unsigned"),
        pytest.param("compatible", {"signature": "f" * 40}, "bad signature", id="compat-sig"),
        pytest.param(
            "compatible", {"msg_signature": "f" * 40}, "bad signature", id="compat-msg-sig"
        ),
        pytest.param("safe", {"signature": "f" * 40}, "bad signature", id="safe-sig"),
        pytest.param("safe", {"msg_signature": "f" * 40}, "bad signature", id="safe-msg-sig"),
        pytest.param(
            "safe", {"msg_signature": None}, "missing signature", id="safe-no-msg-signature"
        ),
        pytest.param(
            "safe",
            {"signature": None, "msg_signature": None},
            "missing signature",
            id="safe-unsigned",
        ),
        pytest.param("safe", {"nonce": "123"}, "bad signature", id="safe-nonce-changed"),
    ],
)
def test_forged_signatures_are_refused(
    mp_client: Any, mode: str, change: dict[str, str | None], reason: str
) -> None:
    request = ref.MP_BUILDERS[mode](KEYS, ref.text_message(KEYS, "o_forger", "你好"))
    assert_refused(ref.send(mp_client, _tamper(request, **change)), 403, reason)
    never_seen(mp_client.application, "o_forger")


def test_safe_mode_without_the_plain_signature_is_accepted(mp_client: Any) -> None:
    # Only msg_signature covers the ciphertext; the plain signature is checked when sent.
    request = ref.mp_safe_post(KEYS, ref.text_message(KEYS, "o_msgsig_only", "你好"))
    response = ref.send(mp_client, _tamper(request, signature=None))
    assert response.status_code == 200
    assert ref.decode_reply(KEYS, response.get_data()).fields["ToUserName"] == "o_msgsig_only"


@pytest.mark.parametrize("mode", MODES)
def test_wrong_token_is_refused(mp_client: Any, mode: str) -> None:
    keys = replace(KEYS, token="guessed-token")
    request = ref.MP_BUILDERS[mode](keys, ref.text_message(keys, "o_guesser", "你好"))
    assert_refused(ref.send(mp_client, request), 403, "bad signature")
    never_seen(mp_client.application, "o_guesser")


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_ciphertext_swapped_under_a_valid_signature_is_refused(mp_client: Any, mode: str) -> None:
    honest = ref.MP_BUILDERS[mode](KEYS, ref.text_message(KEYS, "o_honest", "你好"))
    other = ref.encrypt(
        KEYS.encoding_aes_key, ref.text_message(KEYS, "o_swapped", "转人工"), KEYS.receive_id
    )
    start = honest.body.index("<Encrypt>")
    end = honest.body.index("</Encrypt>") + len("</Encrypt>")
    body = honest.body[:start] + f"<Encrypt>{ref.cdata(other)}</Encrypt>" + honest.body[end:]
    assert_refused(ref.send(mp_client, replace(honest, body=body)), 403, "bad signature")
    never_seen(mp_client.application, "o_swapped")


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_message_encrypted_for_another_appid_is_refused(mp_client: Any, mode: str) -> None:
    other = replace(KEYS, receive_id="wx_another_app_001")
    request = ref.MP_BUILDERS[mode](other, ref.text_message(other, "o_elsewhere", "你好"))
    assert_refused(ref.send(mp_client, request), 403, "message was not encrypted for this account")
    never_seen(mp_client.application, "o_elsewhere")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "offset,status", [(-301, 403), (301, 403), (-299, 200), (299, 200), (-300, 200)]
)
def test_timestamp_window_default_300_seconds(
    mp_client: Any, pinned_now: int, mode: str, offset: int, status: int
) -> None:
    user = f"o_clock_{mode}_{offset}"
    request = ref.MP_BUILDERS[mode](
        KEYS, ref.text_message(KEYS, user, "你好"), timestamp=pinned_now + offset
    )
    response = ref.send(mp_client, request)
    if status == 200:
        assert response.status_code == 200
        assert ref.decode_reply(KEYS, response.get_data()).fields["ToUserName"] == user
    else:
        assert_refused(response, 403, "timestamp more than 300 s from now")
        never_seen(mp_client.application, user)


@pytest.mark.parametrize(
    "offset,status", [(-30, 200), (30, 200), (-31, 403), (31, 403), (-299, 403)]
)
def test_timestamp_tolerance_is_configurable(
    build: Any, pinned_now: int, offset: int, status: int
) -> None:
    client = build(timestamp_tolerance=30).test_client()
    request = ref.mp_safe_post(
        KEYS, ref.text_message(KEYS, "o_tolerance", "你好"), timestamp=pinned_now + offset
    )
    response = ref.send(client, request)
    if status == 200:
        assert response.status_code == 200, response.get_data(as_text=True)
    else:
        assert_refused(response, 403, "timestamp more than 30 s from now")


@pytest.mark.parametrize(
    "timestamp", ["", "yesterday", "1.7e9", "9" * 400], ids=["empty", "word", "float", "huge"]
)
def test_malformed_timestamp_is_refused(mp_client: Any, timestamp: str) -> None:
    # Signed with the bad timestamp, so only the timestamp check can refuse it.
    request = ref.mp_plain_post(KEYS, ref.text_message(KEYS, "o_ts", "你好"), timestamp=timestamp)
    assert_refused(ref.send(mp_client, request), 403)


def _msg(**fields: str) -> str:
    base = {
        "ToUserName": KEYS.account_name,
        "FromUserName": "o_broken",
        "CreateTime": "1773194400",
        "MsgType": "text",
        "Content": "你好",
        "MsgId": "1",
    }
    return ref.message_xml({k: v for k, v in {**base, **fields}.items() if v != "-"})


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f"<xml><ToUserName>{KEYS.account_name}</ToUserName><FromUserName>o_broken</FromUserName>"
    "<CreateTime>1773194400</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content></xml>"
)
LAUGHS = (
    '<!DOCTYPE xml [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>o_broken</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&j;</Content></xml>"
)
DTD_ONLY = "<!DOCTYPE xml>" + _msg()
BAD_BODIES = [
    pytest.param("<xml><ToUserName>gh</xml>", "malformed XML", id="malformed"),
    pytest.param("", "empty body", id="empty"),
    pytest.param("  \n ", "empty body", id="whitespace"),
    pytest.param("图书馆", "malformed XML", id="not-xml"),
    pytest.param(XXE, "XML with a DTD or entities is not accepted", id="xxe"),
    pytest.param(LAUGHS, "XML with a DTD or entities is not accepted", id="billion-laughs"),
    pytest.param(DTD_ONLY, "XML with a DTD or entities is not accepted", id="dtd-no-entities"),
    pytest.param("<root><MsgType>text</MsgType></root>", "root element must be <xml>", id="root"),
    pytest.param(
        "<xml></xml>", "missing fields: ToUserName, FromUserName, MsgType", id="field-less"
    ),
    pytest.param(_msg(MsgType="-"), "missing fields: MsgType", id="no-msgtype"),
    pytest.param(_msg(FromUserName="-"), "missing fields: FromUserName", id="no-sender"),
    pytest.param(_msg(CreateTime="-"), "missing or malformed CreateTime", id="no-createtime"),
]


# Only meaningful as raw bytes: once decrypted to text, the declaration's encoding is moot.
UNKNOWN_ENCODING = pytest.param(
    '<?xml version="1.0" encoding="no-such-encoding"?>' + _msg(),
    "malformed XML",
    id="unknown-encoding",
)


@pytest.mark.parametrize("body,reason", [*BAD_BODIES, UNKNOWN_ENCODING])
def test_bad_plaintext_bodies_are_400(mp_client: Any, body: str, reason: str) -> None:
    assert_refused(ref.send(mp_client, ref.mp_plain_post(KEYS, body)), 400, reason)
    never_seen(mp_client.application, "o_broken")


@pytest.mark.parametrize(
    "body,reason", [p for p in BAD_BODIES if p.id not in ("empty", "whitespace")]
)
def test_bad_bodies_sealed_in_safe_mode_are_400(mp_client: Any, body: str, reason: str) -> None:
    # The same bodies, correctly encrypted and signed: decrypting does not make them safe.
    assert_refused(ref.send(mp_client, ref.mp_safe_post(KEYS, body)), 400, reason)
    never_seen(mp_client.application, "o_broken")


@pytest.mark.parametrize(
    "outer,reason",
    [
        pytest.param(
            "<xml><ToUserName>gh</ToUserName></xml>", "missing fields: Encrypt", id="no-encrypt"
        ),
        pytest.param(
            "<xml><Encrypt></Encrypt></xml>", "missing fields: Encrypt", id="empty-encrypt"
        ),
        pytest.param(XXE, "XML with a DTD or entities is not accepted", id="xxe-outside"),
    ],
)
def test_bad_safe_mode_envelopes_are_400(mp_client: Any, outer: str, reason: str) -> None:
    request = ref.mp_safe_post(KEYS, _msg())
    assert_refused(ref.send(mp_client, replace(request, body=outer)), 400, reason)


def test_garbage_ciphertext_is_400(mp_client: Any) -> None:
    ts, nonce = ref.fresh_stamp()
    garbage = "bm90IGEgY2lwaGVydGV4dA=="  # "not a ciphertext"
    query = {
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": ref.sign(KEYS.token, ts, nonce, garbage),
    }
    body = f"<xml><Encrypt>{ref.cdata(garbage)}</Encrypt></xml>"
    request = ref.Request("POST", "/wechat/mp", query, body)
    assert_refused(ref.send(mp_client, request), 400, "cannot decrypt the message")


def test_deeply_nested_body_is_answered_not_500(mp_client: Any) -> None:
    depth = 100_000
    body = _msg()[: -len("</xml>")] + "<Deep>" + "<a>" * depth + "</a>" * depth + "</Deep></xml>"
    body = body.replace("o_broken", "o_deep")
    response = ref.send(mp_client, ref.mp_plain_post(KEYS, body))
    assert response.status_code == 200
    assert ref.decode_reply(KEYS, response.get_data()).fields["ToUserName"] == "o_deep"


def _padded(size: int, user: str) -> str:
    xml = ref.text_message(KEYS, user, "你好")
    padding = size - len(xml.encode())
    assert padding > 0
    return xml[: -len("</xml>")] + " " * padding + "</xml>"


def test_body_of_exactly_one_mebibyte_is_read(mp_client: Any) -> None:
    body = _padded(1024 * 1024, "o_big")
    assert len(body.encode()) == 1024 * 1024
    response = ref.send(mp_client, ref.mp_plain_post(KEYS, body))
    assert response.status_code == 200
    assert ref.decode_reply(KEYS, response.get_data()).fields["ToUserName"] == "o_big"


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_body_over_one_mebibyte_is_413(mp_client: Any, mode: str) -> None:
    request = ref.MP_BUILDERS[mode](KEYS, _padded(1024 * 1024 + 1, "o_huge"))
    response = ref.send(mp_client, request)
    assert_refused(response, 413, f"request body over {1024 * 1024} bytes")
    never_seen(mp_client.application, "o_huge")


def test_encrypted_request_without_an_aes_key_is_400(build: Any) -> None:
    client = build(mp_aes_key="").test_client()
    request = ref.mp_safe_post(KEYS, ref.text_message(KEYS, "o_aes", "你好"))
    assert_refused(
        ref.send(client, request), 400, "encrypted message, but LIBBOT_MP_AES_KEY is not set"
    )
    # The same 公众号 in plaintext mode is served.
    reply = ask(client, "plain", ref.text_message(KEYS, "o_aes", "你好"))
    assert reply.fields["ToUserName"] == "o_aes"


def test_mp_endpoint_is_404_when_not_configured(build: Any) -> None:
    app = build(mp_token="", mp_aes_key="")
    client = app.test_client()
    reason = "公众号 endpoint is not configured (LIBBOT_MP_TOKEN)"
    assert_refused(ref.send(client, ref.mp_verify_get(KEYS)), 404, reason)
    request = ref.mp_plain_post(KEYS, ref.text_message(KEYS, "o_nobody", "你好"))
    assert_refused(ref.send(client, request), 404, reason)
    never_seen(app, "o_nobody")


# == message kinds ===========================================================================


def test_subscribe_welcomes_and_says_what_the_bot_can_do(mp_client: Any) -> None:
    reply = ask(mp_client, "safe", ref.event_message(KEYS, "o_new", "subscribe", ""))
    content = text_content(reply)
    assert content.startswith(greeting.WELCOME.format(name=LIBRARY_NAME))
    for line in (line for capability in CAPABILITIES for line in capability.help):
        assert line in content
    assert "帮助" in content
    user = users.get(db_of(mp_client.application), MP, "o_new")
    assert user is not None and user["subscribed"] is True


@pytest.mark.parametrize("mode", MODES)
def test_unsubscribe_answers_success_and_marks_the_reader(mp_client: Any, mode: str) -> None:
    app = mp_client.application
    ask(mp_client, mode, ref.event_message(KEYS, "o_leaving", "subscribe"))
    assert users.get(db_of(app), MP, "o_leaving")["subscribed"] is True
    request = ref.MP_BUILDERS[mode](
        KEYS, ref.event_message(KEYS, "o_leaving", "unsubscribe", "", create_time=1773194460)
    )
    response = ref.send(mp_client, request)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
    user = users.get(db_of(app), MP, "o_leaving")
    assert user is not None and user["subscribed"] is False


def test_unsubscribe_of_an_unknown_reader_records_them_unsubscribed(mp_client: Any) -> None:
    response = ref.send(
        mp_client, ref.mp_safe_post(KEYS, ref.event_message(KEYS, "o_ghost", "unsubscribe"))
    )
    assert response.get_data(as_text=True) == "success"
    assert users.get(db_of(mp_client.application), MP, "o_ghost")["subscribed"] is False


def _hours_reply_checks(app: Any, content: str) -> None:
    calendar = app.extensions["guanban"].services.calendar
    assert hours_text.describe_now(calendar, NOW) in content
    # Facts from this module's library file: weekday and weekend closing times.
    assert "22:00" in content and "21:00" in content


def test_click_hours_menu_answers_opening_hours(mp_client: Any) -> None:
    reply = ask(mp_client, "safe", ref.event_message(KEYS, "o_menu", "CLICK", "HOURS"))
    _hours_reply_checks(mp_client.application, text_content(reply))


def test_voice_asking_when_we_open_answers_opening_hours(mp_client: Any) -> None:
    xml = ref.message(
        KEYS, "o_voice", "voice", {"MediaId": "m1", "Format": "amr", "Recognition": "几点开门"}
    )
    reply = ask(mp_client, "plain", xml)
    _hours_reply_checks(mp_client.application, text_content(reply))


def test_voice_without_recognition_asks_to_type(mp_client: Any) -> None:
    xml = ref.message(KEYS, "o_voice2", "voice", {"MediaId": "m2", "Format": "amr"})
    assert text_content(ask(mp_client, "safe", xml)) == messages.VOICE_UNRECOGNISED


def test_click_help_menu_answers_help(mp_client: Any) -> None:
    reply = ask(mp_client, "compatible", ref.event_message(KEYS, "o_help", "CLICK", "HELP"))
    assert text_content(reply) == text_content(
        ask(mp_client, "plain", ref.text_message(KEYS, "o_help2", "帮助"))
    )


@pytest.mark.parametrize(
    "event,key,expected",
    [
        pytest.param("CLICK", "NO_SUCH_KEY", messages.UNKNOWN_MENU_KEY, id="unknown-click"),
        pytest.param("click", "", messages.UNKNOWN_MENU_KEY, id="click-without-key"),
        pytest.param("SCAN", "mystery:42", messages.UNKNOWN_SCENE, id="unclaimed-scan"),
        pytest.param("SCAN", "", messages.UNKNOWN_SCENE, id="scan-without-scene"),
    ],
)
def test_unknown_menu_keys_and_scenes_get_a_polite_text(
    mp_client: Any, event: str, key: str, expected: str
) -> None:
    reply = ask(mp_client, "safe", ref.event_message(KEYS, "o_curious", event, key))
    assert text_content(reply) == expected


def test_subscribe_through_an_unclaimed_qr_scene_still_welcomes(mp_client: Any) -> None:
    reply = ask(
        mp_client, "safe", ref.event_message(KEYS, "o_scan_new", "subscribe", "qrscene_mystery:1")
    )
    assert text_content(reply).startswith(greeting.WELCOME.format(name=LIBRARY_NAME))


@pytest.mark.parametrize(
    "event,key",
    [("VIEW", "https://lib.example/"), ("LOCATION", None), ("TEMPLATESENDJOBFINISH", None)],
)
def test_silent_events_answer_success(mp_client: Any, event: str, key: str | None) -> None:
    response = ref.send(
        mp_client, ref.mp_safe_post(KEYS, ref.event_message(KEYS, "o_silent", event, key))
    )
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")


OTHER_KINDS = [
    pytest.param("image", {"PicUrl": "https://mmbiz.example/p.jpg", "MediaId": "img1"}, id="image"),
    pytest.param(
        "location",
        {"Location_X": "39.9", "Location_Y": "116.3", "Scale": "15", "Label": "图书馆"},
        id="location",
    ),
    pytest.param(
        "link",
        {"Title": "好文]]>推荐", "Description": "d", "Url": "https://example.org/?a=1&b=2"},
        id="link",
    ),
    pytest.param("video", {"MediaId": "v1", "ThumbMediaId": "t1"}, id="video"),
    pytest.param("shortvideo", {"MediaId": "v2", "ThumbMediaId": "t2"}, id="shortvideo"),
    pytest.param("file", {"Title": "a.pdf", "FileKey": "k", "FileMd5": "m"}, id="file"),
]


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize("kind,fields", OTHER_KINDS)
def test_other_message_kinds_get_a_short_polite_text(
    mp_client: Any, mode: str, kind: str, fields: dict[str, str]
) -> None:
    reply = ask(mp_client, mode, ref.message(KEYS, f"o_{kind}", kind, fields))
    content = text_content(reply)
    assert content == messages.UNSUPPORTED_KIND
    assert 0 < len(content) <= 80


# == replies whose content would break naive XML ============================================


class ActionEcho(LibraryAction):
    """Says back exactly what it was told; "news:" asks for a news reply instead."""

    NAME = "action_echo"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        text = tracker.latest_message["text"]
        if text.startswith("news:"):
            articles = [
                {
                    "title": text,
                    "description": "说明]]>",
                    "url": "https://x/?a=1&b=]]>",
                    "image": "",
                },
                {"title": "第二篇", "description": "", "url": "", "image": ""},
            ]
            dispatcher.utter_message(json_message={"articles": articles})
        else:
            dispatcher.utter_message(text=text)
        return []


ECHO = Capability(name="echo", actions=(ActionEcho,))


def echo_parser(text: str, now: datetime) -> ParseResult:
    return ParseResult(text, "echo", 1.0)


@pytest.fixture
def echo_client(build: Any) -> Any:
    return build(capabilities=(*CAPABILITIES, ECHO), parser=echo_parser).test_client()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "content", ["a]]>b", "]]>]]>]]>", "以]]>结尾]]>", "<![CDATA[x]]>", "&amp; <b>", "a]]]>b"]
)
def test_reply_containing_cdata_end_still_parses(echo_client: Any, mode: str, content: str) -> None:
    reply = ask(echo_client, mode, ref.text_message(KEYS, "o_echo", content))
    assert text_content(reply) == content


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_news_reply_through_the_endpoint(echo_client: Any, mode: str) -> None:
    reply = ask(echo_client, mode, ref.text_message(KEYS, "o_news", "news:新书]]>速递"))
    assert reply.fields["MsgType"] == "news"
    assert reply.fields["ArticleCount"] == "2"
    assert ref.news_articles(reply.xml) == [
        {
            "Title": "news:新书]]>速递",
            "Description": "说明]]>",
            "PicUrl": "",
            "Url": "https://x/?a=1&b=]]>",
        },
        {"Title": "第二篇", "Description": "", "PicUrl": "", "Url": ""},
    ]
