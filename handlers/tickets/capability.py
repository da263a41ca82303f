"""Tickets as one capability: 转人工 (the hand-off), and the console's ticket pages where
librarians answer feedback, hand-offs and crisis tickets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handlers.kit.capability import Capability, Reader
from handlers.kit.console import Plugin
from handlers.kit.services import Services
from handlers.tickets import api, demo, store
from handlers.tickets.handoff import FORM, ActionHuman


def console() -> Sequence[Plugin]:
    from handlers.tickets.console import PLUGIN

    return (PLUGIN,)


def reader_data(services: Services, reader: Reader) -> Mapping[str, Sequence[Mapping[str, Any]]]:
    return {"tickets": store.of_reader(services.db(), reader.channel, reader.user_id)}


def keeps_reader_heard(services: Services, reader: Reader) -> bool:
    # The crisis answer invites the reader to go on talking: true until a librarian closes it.
    return store.open_crisis(services.db(), reader.channel, reader.user_id)


CAPABILITY = Capability(
    name=api.NAME,
    actions=(ActionHuman,),
    migrations=(store.migrations,),
    forms={FORM: ActionHuman.NAME},
    help=("联系馆员：发送「转人工」，馆员会在这里回复你",),
    console=console,
    demo=demo.seed,
    reader_data=reader_data,
    keeps_reader_heard=keeps_reader_heard,
)
