"""Play the WeChat server: build signed (and encrypted) callbacks, read the replies.

Used by `python -m bot chat`, the /dev/chat simulator, the tests and the benchmarks, so that
all of them exercise the real verification path instead of a shortcut around it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from bot.core.values import MP, WORK
from bot.wechat import protocol
from bot.wechat.protocol import Account

if TYPE_CHECKING:
    from bot.core.settings import Settings

MODES = ("plain", "compatible", "safe")
_message_ids = count(int(time.time() * 1000) % 10**12 * 1000)


@dataclass(frozen=True)
class Callback:
    """One request as WeChat would send it: the query string and the body."""

    path: str
    query: dict[str, str]
    body: str

    @property
    def url_path(self) -> str:
        return f"{self.path}?{urlencode(self.query)}"


@dataclass
class WeChatPeer:
    """A fake WeChat server for one account; `mode` is plain, compatible or safe (公众号)."""

    account: Account
    mode: str = "safe"
    account_name: str = "gh_guanban_demo"
    _last_time: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.account.channel == WORK:
            self.mode = "safe"  # WeCom callbacks are always encrypted
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.mode != "plain" and not self.account.aes_key:
            raise ValueError("compatible and safe modes need an EncodingAESKey")

    @property
    def path(self) -> str:
        return "/wechat/work" if self.account.channel == WORK else "/wechat/mp"

    # -- building messages ---------------------------------------------------------------

    def text(self, user: str, content: str, msg_id: str | None = None) -> Callback:
        return self.message(
            user, "text", {"Content": content, "MsgId": msg_id or str(next(_message_ids))}
        )

    def voice(self, user: str, recognition: str, msg_id: str | None = None) -> Callback:
        fields = {
            "MediaId": "media_" + secrets.token_hex(8),
            "Format": "amr",
            "Recognition": recognition,
            "MsgId": msg_id or str(next(_message_ids)),
        }
        return self.message(user, "voice", fields)

    def event(
        self, user: str, event: str, key: str = "", create_time: int | None = None
    ) -> Callback:
        fields = {"Event": event}
        if key:
            fields["EventKey"] = key
        return self.message(user, "event", fields, create_time=create_time)

    def message(
        self,
        user: str,
        msg_type: str,
        fields: dict[str, str],
        *,
        create_time: int | None = None,
        timestamp: int | None = None,
    ) -> Callback:
        to_user = self.account.receive_id if self.account.channel == WORK else self.account_name
        parts = [
            f"<ToUserName><![CDATA[{to_user}]]></ToUserName>",
            f"<FromUserName><![CDATA[{user}]]></FromUserName>",
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
        ]
        parts += [f"<{k}>{_cdata(v)}</{k}>" for k, v in fields.items()]
        if self.account.channel == WORK and self.account.agent_id:
            parts.append(f"<AgentID>{escape(self.account.agent_id)}</AgentID>")
        return self.sign("<xml>" + "".join(parts) + "</xml>", timestamp=timestamp)

    # -- signing and encrypting ----------------------------------------------------------

    def sign(self, plain_xml: str, *, timestamp: int | None = None) -> Callback:
        """The request WeChat would send for `plain_xml` in this peer's mode."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = str(secrets.randbelow(10**9))
        token = self.account.token
        if self.mode == "plain":
            query = {
                "signature": protocol.signature(token, ts, nonce),
                "timestamp": ts,
                "nonce": nonce,
                "openid": "peer",
            }
            return Callback(self.path, query, plain_xml)
        cipher = protocol.seal(self.account, plain_xml)
        msg_signature = protocol.signature(token, ts, nonce, cipher)
        if self.account.channel == WORK:
            body = (
                f"<xml><ToUserName><![CDATA[{self.account.receive_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{cipher}]]></Encrypt>"
                f"<AgentID><![CDATA[{self.account.agent_id}]]></AgentID></xml>"
            )
            query = {"msg_signature": msg_signature, "timestamp": ts, "nonce": nonce}
            return Callback(self.path, query, body)
        if self.mode == "compatible":
            # Compatible mode: the plaintext fields and the ciphertext side by side.
            body = plain_xml.replace("</xml>", f"<Encrypt><![CDATA[{cipher}]]></Encrypt></xml>")
        else:
            body = (
                f"<xml><ToUserName><![CDATA[{self.account_name}]]></ToUserName>"
                f"<Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
            )
        query = {
            "signature": protocol.signature(token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": "peer",
            "encrypt_type": "aes",
            "msg_signature": msg_signature,
        }
        return Callback(self.path, query, body)

    def verification(self, echostr: str = "guanban-echo") -> Callback:
        """The GET WeChat sends when an admin saves the server URL."""
        ts = str(int(time.time()))
        nonce = str(secrets.randbelow(10**9))
        if self.account.channel == WORK:
            sealed = protocol.seal(self.account, echostr)
            query = {
                "msg_signature": protocol.signature(self.account.token, ts, nonce, sealed),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": sealed,
            }
        else:
            query = {
                "signature": protocol.signature(self.account.token, ts, nonce),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": echostr,
            }
        return Callback(self.path, query, "")

    # -- reading replies -----------------------------------------------------------------

    def read_reply(self, body: str | bytes) -> dict[str, str]:
        """The reply's fields, decrypted and signature-checked if encrypted; {} for success."""
        text = body.decode() if isinstance(body, bytes) else body
        if text.strip() in ("", protocol.SUCCESS):
            return {}
        fields = protocol.parse_xml(text)
        if "Encrypt" in fields:
            protocol.check_signature(
                fields.get("MsgSignature"),
                self.account.token,
                fields.get("TimeStamp", ""),
                fields.get("Nonce", ""),
                fields["Encrypt"],
            )
            fields = protocol.parse_xml(protocol.decrypt(self.account, fields["Encrypt"]))
        return fields


def _cdata(value: str) -> str:
    return f"<![CDATA[{protocol.cdata_safe(value)}]]>"


def reply_text(fields: dict[str, str]) -> str:
    """What a phone would show for a reply's fields (text, or news titles)."""
    if not fields:
        return ""
    if fields.get("MsgType") == "news":
        return fields.get("Articles", "")
    return fields.get("Content", "")


def peer_for(s: Settings, channel: str = MP, mode: str = "safe") -> WeChatPeer:
    """A peer holding the same keys as the bot's settings (chat CLI, simulator, bench)."""
    if channel == WORK:
        account = Account(WORK, s.work_token, s.work_aes_key, s.work_corp_id, s.work_agent_id)
    else:
        if not s.mp_aes_key:
            mode = "plain"
        account = Account(MP, s.mp_token, s.mp_aes_key, s.mp_appid)
    return WeChatPeer(account, mode=mode)
