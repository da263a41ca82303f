"""Which package may import which: the layers of docs/architecture.md, checked by parsing
every module's imports (type-checking and function-level imports included: they are
dependencies too). A failure names the file, the line and the import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("bot", "handlers", "intents")
# Below a layer: what it may import besides itself. A capability may also import another
# capability's `api` module (checked separately).
LOWER = {
    "bot.core": set(),
    "intents": {"bot.core"},
    "handlers.library": {"bot.core", "intents"},
    "handlers.kit": {"bot.core", "intents", "handlers.library"},
    "capability": {"bot.core", "intents", "handlers.library", "handlers.kit"},
    "handlers.registry": {"bot.core", "intents", "handlers.library", "handlers.kit", "capability"},
}
TRANSPORT = ("bot.outbound", "bot.wechat", "bot.console", "bot.dev")
BASE = {"bot.core", "intents", "handlers.kit", "handlers.registry"}
for i, layer in enumerate(TRANSPORT):
    LOWER[layer] = BASE | set(TRANSPORT[:i])
CORE_OF_CAPABILITIES = ("kit", "library", "registry")


NOT_A_CAPABILITY = {"bot.core", "intents", "handlers.library", "handlers.kit", "handlers.registry"}
LOWER["bot"] = NOT_A_CAPABILITY | set(TRANSPORT)  # the composition root names no capability


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "intents":
        return "intents"
    if parts[0] == "handlers":
        if len(parts) == 1:
            return "handlers"
        if parts[1] in CORE_OF_CAPABILITIES:
            return f"handlers.{parts[1]}"
        return "capability"
    if len(parts) > 1 and f"bot.{parts[1]}" in ("bot.core", *TRANSPORT):
        return f"bot.{parts[1]}"
    return "bot"  # the composition root: bot/__main__.py, bot/app.py, bot/server.py …


def capability_of(module: str) -> str | None:
    parts = module.split(".")
    if layer_of(module) == "capability":
        return parts[1]
    return None


def modules() -> dict[str, Path]:
    found = {}
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in OURS]


def offence(module: str, imported: str, known: dict[str, Path]) -> str | None:
    """Why `module` may not import `imported`, or None when it may."""
    while imported not in known and "." in imported:  # `from pkg import name` of a value
        imported = imported.rpartition(".")[0]
    mine, theirs = layer_of(module), layer_of(imported)
    if mine == "handlers" or (mine == "bot" and theirs == "bot"):
        return None
    if mine == theirs and mine != "capability":
        return None
    if mine == "capability" and theirs == "capability":
        own, other = capability_of(module), capability_of(imported)
        if own == other or imported == f"handlers.{other}.api":
            return None
        return f"another capability only through handlers.{other}.api"
    if theirs in LOWER.get(mine, set()):
        return None
    return f"{mine} may import only {', '.join(sorted(LOWER.get(mine, set()))) or 'itself'}"


def violations() -> list[str]:
    known = modules()
    found = []
    for module, path in known.items():
        for line, imported in imports_of(path, module):
            why = offence(module, imported, known)
            if why:
                found.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} imports {imported} ({why})"
                )
    return found


def test_every_import_goes_the_allowed_way() -> None:
    assert violations() == []


def package_graph() -> dict[str, set[str]]:
    """Package → the packages it imports (a capability is one package)."""
    known = modules()
    graph: dict[str, set[str]] = {}

    def package(name: str) -> str:
        layer = layer_of(name)
        return f"handlers.{capability_of(name)}" if layer == "capability" else layer

    for module, path in known.items():
        for _, imported in imports_of(path, module):
            while imported not in known and "." in imported:
                imported = imported.rpartition(".")[0]
            a, b = package(module), package(imported)
            if a != b:
                graph.setdefault(a, set()).add(b)
    return graph


def test_no_cycles_between_packages() -> None:
    graph = package_graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(" → ".join([*path[path.index(nxt) :], nxt]))
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert sorted(set(cycles)) == []


@pytest.mark.parametrize(
    ("module", "imported", "allowed"),
    [
        ("bot.core.db", "bot.wechat.router", False),
        ("bot.core.db", "bot.core.clock", True),
        ("intents.nlu", "handlers.kit.forms", False),
        ("handlers.kit.forms", "handlers.reservations.store", False),
        ("handlers.reservations.chat", "handlers.tickets.store", False),
        ("handlers.reservations.chat", "handlers.tickets.api", True),
        ("handlers.crisis", "handlers.tickets.api", True),
        ("bot.wechat.router", "handlers.reservations.store", False),
        ("bot.wechat.router", "handlers.registry", True),
        ("bot.outbound.sender", "bot.wechat.router", False),
        ("bot.app", "handlers.reservations.store", False),
        ("bot.app", "handlers.registry", True),
        ("bot.console.shell", "bot.wechat.runtime", True),
        ("bot.wechat.pipeline", "bot.console.shell", False),
    ],
)
def test_the_rules_themselves(module: str, imported: str, allowed: bool) -> None:
    known = modules()
    assert (offence(module, imported, known) is None) is allowed
