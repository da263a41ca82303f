"""The console's plugins: the shell's own, and those of the capabilities the app was built
with (`Capability.console`), in their order. The shell never names a capability."""

from __future__ import annotations

from collections.abc import Iterable

from handlers.kit.capability import Capability
from handlers.kit.console import Plugin


def plugins_for(capabilities: Iterable[Capability]) -> tuple[Plugin, ...]:
    """Every plugin of an app with these capabilities, in navigation order."""
    from bot.console import accounts, dashboard, readers, tokens, unrecognised

    own = (dashboard.PLUGIN, readers.PLUGIN, tokens.PLUGIN, accounts.PLUGIN, unrecognised.PLUGIN)
    theirs = [plugin for c in capabilities if c.console for plugin in c.console()]
    return tuple(sorted((*own, *theirs), key=lambda plugin: plugin.order))
