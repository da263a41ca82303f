"""The WeCom (企业微信) app endpoint, /wechat/work, end to end through the Flask test client.

Tencent's published WeCom samples are replayed against an app holding their keys; the rest
uses the test keys with requests built by tests/wechat_reference.py (independent of the
server's code) and, once, by the project's own WeChatPeer.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bot.core import users
from bot.core.clock import TZ, fixed_clock
from bot.core.values import WORK
from bot.dev.callback_client import WeChatPeer, reply_text
from bot.wechat import webhook
from bot.wechat import words as messages
from handlers import greeting
from tests.conftest import TEST_KEYS, post
from tests.wechat import wechat_reference as ref
from tests.wechat.vectors import WECOM_MESSAGE, WECOM_VERIFY_URL

KEYS = ref.Keys(
    token=TEST_KEYS["work_token"],
    encoding_aes_key=TEST_KEYS["work_aes_key"],
    receive_id=TEST_KEYS["work_corp_id"],
    agent_id=TEST_KEYS["work_agent_id"],
    account_name=TEST_KEYS["work_corp_id"],  # WeCom messages are addressed to the corp
)
OTHER_CORP = replace(KEYS, receive_id="ww_other_corp_9999", account_name="ww_other_corp_9999")
NOT_FOR_US = "message was not encrypted for this account"


@pytest.fixture
def work_client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> int:
    """Stand the webhook's timestamp check at a whole second, so boundaries are exact.

    The check reads time.time() in bot.wechat.webhook; tests that use this also give their app a
    clock fixed at the same second (`pinned_client`), so they hold if it reads the clock.
    """
    now = int(time.time())
    monkeypatch.setattr(webhook, "time", SimpleNamespace(time=lambda: float(now)))
    return now


@pytest.fixture
def pinned_client(make_app: Any, pinned_now: int) -> Any:
    return make_app(clock=fixed_clock(datetime.fromtimestamp(pinned_now, TZ))).test_client()


def db_of(app: Any) -> Any:
    return app.extensions["guanban"].services.db()


def library_name(app: Any) -> str:
    return str(app.extensions["guanban"].services.library["library"]["name"])


def assert_refused(response: Any, status: int, reason: str | None = None) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.mimetype == "text/plain"
    assert body.endswith("\n") and body.count("\n") == 1, body
    assert "Traceback" not in body
    if reason is not None:
        assert body == reason + "\n"
    return body


def answered(client: Any, request: ref.Request) -> ref.Reply:
    """Send `request`; the reply must be 200 and, like every WeCom reply, encrypted."""
    response = ref.send(client, request)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    reply = ref.decode_reply(KEYS, response.get_data())
    assert reply.encrypted
    return reply


def never_seen(app: Any, user: str) -> None:
    assert users.get(db_of(app), WORK, user) is None, "a refused request reached the pipeline"


# == Tencent's samples =======================================================================


@pytest.fixture
def vector_app(make_app: Any) -> Any:
    v = WECOM_MESSAGE
    return make_app(
        work_token=v.token,
        work_aes_key=v.aes_key,
        work_corp_id=v.corp_id,
        work_agent_id="218",
        timestamp_tolerance=10**10,  # the samples were signed in 2014
    )


def _verify_query(**change: str) -> dict[str, str]:
    v = WECOM_VERIFY_URL
    return {
        "msg_signature": v.msg_signature,
        "timestamp": v.timestamp,
        "nonce": v.nonce,
        "echostr": v.echostr,
        **change,
    }


def test_tencent_sample_url_verification(vector_app: Any) -> None:
    response = vector_app.test_client().get("/wechat/work", query_string=_verify_query())
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "1616140317555161061"


@pytest.mark.parametrize(
    "change,reason",
    [
        pytest.param(
            {"msg_signature": WECOM_MESSAGE.msg_signature}, "bad signature", id="other-signature"
        ),
        pytest.param({"nonce": "263014781"}, "bad signature", id="nonce-changed"),
        pytest.param({"msg_signature": ""}, "missing signature", id="unsigned"),
    ],
)
def test_tencent_sample_url_verification_refused(
    vector_app: Any, change: dict[str, str], reason: str
) -> None:
    response = vector_app.test_client().get("/wechat/work", query_string=_verify_query(**change))
    body = assert_refused(response, 403, reason)
    assert "1616140317555161061" not in body


def test_tencent_sample_url_verification_is_stale_today(make_app: Any) -> None:
    v = WECOM_VERIFY_URL
    app = make_app(work_token=v.token, work_aes_key=v.aes_key, work_corp_id=v.corp_id)
    response = app.test_client().get("/wechat/work", query_string=_verify_query())
    assert_refused(response, 403, "timestamp more than 300 s from now")


def test_tencent_sample_message_is_answered_encrypted_for_the_corp(vector_app: Any) -> None:
    v = WECOM_MESSAGE
    query = {"msg_signature": v.msg_signature, "timestamp": v.timestamp, "nonce": v.nonce}
    response = vector_app.test_client().post(
        "/wechat/work", query_string=query, data=v.body.encode(), content_type="text/xml"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    reply = ref.decode_reply(ref.Keys(v.token, v.aes_key, v.corp_id), response.get_data())
    assert reply.encrypted
    assert reply.fields["ToUserName"] == "mycreate"
    assert reply.fields["FromUserName"] == v.corp_id
    assert reply.fields["AgentID"] == "218"
    assert reply.fields["MsgType"] == "text"
    # The sample says "hello": a greeting.
    name = library_name(vector_app)
    assert reply.fields["Content"] == greeting.GREETING.format(name=name)
    assert users.get(db_of(vector_app), WORK, "mycreate") is not None


def test_tencent_sample_message_for_another_corp_is_refused(make_app: Any) -> None:
    v = WECOM_MESSAGE
    app = make_app(
        work_token=v.token,
        work_aes_key=v.aes_key,
        work_corp_id="ww_not_the_sample_corp",
        timestamp_tolerance=10**10,
    )
    query = {"msg_signature": v.msg_signature, "timestamp": v.timestamp, "nonce": v.nonce}
    response = app.test_client().post(
        "/wechat/work", query_string=query, data=v.body.encode(), content_type="text/xml"
    )
    assert_refused(response, 403, NOT_FOR_US)
    never_seen(app, "mycreate")


# == URL verification with our own keys =====================================================


def test_get_verification_answers_the_decrypted_echostr(work_client: Any) -> None:
    request = ref.work_verify_get(KEYS, "5927337108734286410")
    response = ref.send(work_client, request)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "5927337108734286410"
    assert request.query["echostr"] != "5927337108734286410"  # it really was sealed


def test_get_verification_from_callback_client_peer(
    work_client: Any, work_peer: WeChatPeer
) -> None:
    response = work_client.get(work_peer.verification("peer-echo-77").url_path)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "peer-echo-77")


@pytest.mark.parametrize(
    "keys,change,status,reason",
    [
        pytest.param(KEYS, {"msg_signature": "0" * 40}, 403, "bad signature", id="bad-signature"),
        pytest.param(KEYS, {"msg_signature": None}, 403, "missing signature", id="unsigned"),
        pytest.param(replace(KEYS, token="guessed"), {}, 403, "bad signature", id="wrong-token"),
        pytest.param(OTHER_CORP, {}, 403, NOT_FOR_US, id="sealed-for-another-corp"),
    ],
)
def test_get_verification_refused(
    work_client: Any,
    keys: ref.Keys,
    change: dict[str, str | None],
    status: int,
    reason: str,
) -> None:
    request = ref.work_verify_get(keys, "echo-never-shown")
    query = {k: v for k, v in {**request.query, **change}.items() if v is not None}
    body = assert_refused(ref.send(work_client, replace(request, query=query)), status, reason)
    assert "echo-never-shown" not in body


def test_get_verification_with_garbage_echostr_is_400(work_client: Any) -> None:
    ts, nonce = ref.fresh_stamp()
    garbage = "Z2FyYmFnZQ=="
    query = {
        "msg_signature": ref.sign(KEYS.token, ts, nonce, garbage),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": garbage,
    }
    response = ref.send(work_client, ref.Request("GET", ref.WORK_PATH, query))
    assert_refused(response, 400, "cannot decrypt the message")


@pytest.mark.parametrize("offset,status", [(-301, 403), (301, 403), (-299, 200), (300, 200)])
def test_get_verification_timestamp_window(
    pinned_client: Any, pinned_now: int, offset: int, status: int
) -> None:
    request = ref.work_verify_get(KEYS, "echo-window", timestamp=pinned_now + offset)
    response = ref.send(pinned_client, request)
    if status == 200:
        assert (response.status_code, response.get_data(as_text=True)) == (200, "echo-window")
    else:
        assert_refused(response, 403, "timestamp more than 300 s from now")


# == messages with our own keys =============================================================


def test_text_gets_an_encrypted_reply_with_agent_id(app: Any, work_client: Any) -> None:
    request = ref.work_post(KEYS, ref.text_message(KEYS, "zhangsan", "你好"))
    response = ref.send(work_client, request)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    outer = ref.read_xml(response.get_data())
    assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    reply = ref.decode_reply(KEYS, response.get_data())
    assert reply.encrypted
    assert reply.fields["ToUserName"] == "zhangsan"
    assert reply.fields["FromUserName"] == KEYS.receive_id
    assert reply.fields["AgentID"] == KEYS.agent_id
    assert reply.fields["Content"] == greeting.GREETING.format(name=library_name(app))
    assert users.get(db_of(app), WORK, "zhangsan") is not None


def test_text_from_callback_client_peer(app: Any, work_client: Any, work_peer: WeChatPeer) -> None:
    response = post(work_client, work_peer.text("lisi", "你好"))
    assert response.status_code == 200
    fields = work_peer.read_reply(response.get_data())
    assert (fields["ToUserName"], fields["AgentID"]) == ("lisi", KEYS.agent_id)
    assert reply_text(fields) == greeting.GREETING.format(name=library_name(app))


@pytest.mark.parametrize(
    "agent_id,rendered",
    [("1000002", "1000002"), ("1000017", "1000017"), ("", "0"), ("²", "0")],
)
def test_reply_agent_id_follows_the_message(work_client: Any, agent_id: str, rendered: str) -> None:
    xml = ref.message(
        replace(KEYS, agent_id=""), "wangwu", "text", {"Content": "你好", "AgentID": agent_id}
    )
    if not agent_id:
        xml = xml.replace("<AgentID><![CDATA[]]></AgentID>", "")
    assert answered(work_client, ref.work_post(KEYS, xml)).fields["AgentID"] == rendered


def test_message_sealed_for_another_corp_is_refused(app: Any, work_client: Any) -> None:
    request = ref.work_post(OTHER_CORP, ref.text_message(OTHER_CORP, "intruder", "你好"))
    assert_refused(ref.send(work_client, request), 403, NOT_FOR_US)
    never_seen(app, "intruder")


@pytest.mark.parametrize(
    "change,reason",
    [
        pytest.param({"msg_signature": "a" * 40}, "bad signature", id="forged"),
        pytest.param({"msg_signature": None}, "missing signature", id="unsigned"),
        pytest.param({"nonce": "1"}, "bad signature", id="nonce-changed"),
    ],
)
def test_forged_message_signature_is_refused(
    app: Any, work_client: Any, change: dict[str, str | None], reason: str
) -> None:
    request = ref.work_post(KEYS, ref.text_message(KEYS, "forger", "你好"))
    query = {k: v for k, v in {**request.query, **change}.items() if v is not None}
    assert_refused(ref.send(work_client, replace(request, query=query)), 403, reason)
    never_seen(app, "forger")


@pytest.mark.parametrize("offset,status", [(-301, 403), (301, 403), (-299, 200), (299, 200)])
def test_message_timestamp_window(
    pinned_client: Any, pinned_now: int, offset: int, status: int
) -> None:
    user = f"clock_{offset}"
    request = ref.work_post(
        KEYS, ref.text_message(KEYS, user, "你好"), timestamp=pinned_now + offset
    )
    if status == 200:
        assert answered(pinned_client, request).fields["ToUserName"] == user
    else:
        assert_refused(ref.send(pinned_client, request), 403, "timestamp more than 300 s from now")
        never_seen(pinned_client.application, user)


@pytest.mark.parametrize(
    "body,reason",
    [
        pytest.param(
            f"<xml><ToUserName>{KEYS.receive_id}</ToUserName><AgentID>1</AgentID></xml>",
            "missing fields: Encrypt",
            id="no-encrypt",
        ),
        pytest.param("<xml><Encrypt></Encrypt></xml>", "missing fields: Encrypt", id="empty"),
        pytest.param("<xml><Encrypt>x</xml>", "malformed XML", id="malformed"),
        pytest.param("", "empty body", id="no-body"),
        pytest.param(
            '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>',
            "XML with a DTD or entities is not accepted",
            id="xxe",
        ),
    ],
)
def test_bad_envelopes_are_400(work_client: Any, body: str, reason: str) -> None:
    request = ref.work_post(KEYS, ref.text_message(KEYS, "zhaoliu", "你好"))
    assert_refused(ref.send(work_client, replace(request, body=body)), 400, reason)


@pytest.mark.parametrize(
    "inner,reason",
    [
        pytest.param(
            "<xml></xml>", "missing fields: ToUserName, FromUserName, MsgType", id="empty"
        ),
        pytest.param("<xml><a></xml>", "malformed XML", id="malformed"),
        pytest.param(
            '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            "<xml><Content>&b;</Content></xml>",
            "XML with a DTD or entities is not accepted",
            id="entities",
        ),
    ],
)
def test_bad_sealed_messages_are_400(work_client: Any, inner: str, reason: str) -> None:
    assert_refused(ref.send(work_client, ref.work_post(KEYS, inner)), 400, reason)


def test_enter_agent_event_is_answered_with_success(work_client: Any) -> None:
    xml = ref.event_message(KEYS, "sunqi", "enter_agent", "")
    response = ref.send(work_client, ref.work_post(KEYS, xml))
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")


def test_image_gets_the_polite_unsupported_text(work_client: Any) -> None:
    xml = ref.message(KEYS, "zhouba", "image", {"PicUrl": "https://x/p.jpg", "MediaId": "m"})
    reply = answered(work_client, ref.work_post(KEYS, xml))
    assert reply.fields["Content"] == messages.UNSUPPORTED_KIND


@pytest.mark.parametrize("missing", ["work_token", "work_aes_key", "work_corp_id"])
def test_work_endpoint_is_404_when_not_configured(make_app: Any, missing: str) -> None:
    app = make_app(**{missing: ""})
    client = app.test_client()
    reason = (
        "WeCom endpoint is not configured (LIBBOT_WORK_TOKEN, LIBBOT_WORK_AES_KEY, "
        "LIBBOT_WORK_CORP_ID)"
    )
    assert_refused(ref.send(client, ref.work_verify_get(KEYS)), 404, reason)
    request = ref.work_post(KEYS, ref.text_message(KEYS, "nobody", "你好"))
    assert_refused(ref.send(client, request), 404, reason)
    never_seen(app, "nobody")
    # The 公众号 endpoint of the same app is unaffected.
    assert ref.send(client, ref.mp_verify_get(ref.Keys(TEST_KEYS["mp_token"]), "ok")).data == b"ok"


def test_get_verification_tolerates_an_unencoded_plus_in_echostr(
    client: Any, work_peer: WeChatPeer
) -> None:
    from urllib.parse import quote

    # Base64 echostrs often hold "+"; a client that forgets to encode it sends a space.
    for attempt in range(200):
        callback = work_peer.verification(f"echo-{attempt}")
        if "+" in callback.query["echostr"]:
            break
    else:
        pytest.fail("no echostr with a '+' in 200 tries")
    query = "&".join(
        f"{k}={v if k == 'echostr' else quote(v, safe='')}" for k, v in callback.query.items()
    )
    response = client.get(f"{callback.path}?{query}")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == f"echo-{attempt}"
