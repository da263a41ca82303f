"""What one app instance holds: settings, services, the router and the pipeline.

Created by the app factory and kept in `app.extensions["guanban"]`; nothing is created at
import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.services import Services
from bot.core.settings import Settings
from bot.core.values import MP, WORK
from bot.wechat.pipeline import Pipeline
from bot.wechat.protocol import Account, ProtocolError
from bot.wechat.router import Router
from handlers.kit.actions import Capability


@dataclass
class Runtime:
    settings: Settings
    services: Services
    capabilities: tuple[Capability, ...]
    router: Router
    pipeline: Pipeline

    def account(self, channel: str) -> Account:
        """The keys of a callback endpoint; 404 when that channel is not configured."""
        s = self.settings
        if channel == MP:
            if not s.mp_enabled:
                raise ProtocolError(404, "公众号 endpoint is not configured (LIBBOT_MP_TOKEN)")
            return Account(MP, s.mp_token, s.mp_aes_key, s.mp_appid)
        if channel == WORK:
            if not s.work_enabled:
                raise ProtocolError(
                    404,
                    "WeCom endpoint is not configured (LIBBOT_WORK_TOKEN, "
                    "LIBBOT_WORK_AES_KEY, LIBBOT_WORK_CORP_ID)",
                )
            return Account(WORK, s.work_token, s.work_aes_key, s.work_corp_id, s.work_agent_id)
        raise ValueError(f"unknown channel {channel!r}")
