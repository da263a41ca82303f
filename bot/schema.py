"""Which migration sets make up the database: the core's, then each capability's."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils.migrations import Migrations

from bot.core import staff, users
from bot.outbound import outbox, qr, tokens
from bot.wechat import inbox, stats
from handlers.kit.actions import Capability
from intents import dialog_state, unrecognised

CORE_MIGRATIONS: tuple[Migrations, ...] = (
    users.migrations,
    inbox.migrations,
    dialog_state.migrations,
    outbox.migrations,
    tokens.migrations,
    staff.migrations,
    unrecognised.migrations,
    stats.migrations,
    qr.migrations,
)


def all_migrations(capabilities: Iterable[Capability]) -> list[Migrations]:
    sets: dict[str, Migrations] = {m.name: m for m in CORE_MIGRATIONS}
    for capability in capabilities:
        for migrations in capability.migrations:
            # Two capabilities may share a table's owner (feedback and hand-off: tickets).
            sets.setdefault(migrations.name, migrations)
    return list(sets.values())
