"""Space reservations as one capability: what the registry lists."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.kit.capability import Capability, Job
from handlers.kit.console import Plugin
from handlers.reservations import demo, notices, qr, store
from handlers.reservations.chat import (
    CANCEL_FORM,
    FORM,
    SCENES,
    ActionCancelReservation,
    ActionCheckIn,
    ActionMyReservations,
    ActionReleaseSeat,
    ActionReserve,
    ActionStepOut,
)
from handlers.reservations.spaces import spaces_of


def console() -> Sequence[Plugin]:
    from handlers.reservations.console import PLUGIN

    return (PLUGIN,)


CAPABILITY = Capability(
    name="reservations",
    actions=(
        ActionReserve,
        ActionMyReservations,
        ActionCancelReservation,
        ActionCheckIn,
        ActionStepOut,
        ActionReleaseSeat,
    ),
    migrations=(store.migrations,),
    configure=spaces_of,
    scenes={prefix: ActionCheckIn.NAME for prefix in SCENES},
    forms={FORM: ActionReserve.NAME, CANCEL_FORM: ActionCancelReservation.NAME},
    help=(
        "预约座位/研讨间：如「明天上午八点到十二点约个靠窗的座位」",
        "我的预约、取消预约；到场扫码或发送「签到」，「暂离」「退座」",
    ),
    jobs=(Job("reservations.tick", notices.tick, "interval", {"minutes": 1}),),
    console=console,
    qr=qr.CODES,
    demo=demo.seed,
)
