"""One owner per table: a table is read and written only by the package whose migrations
create it; every other part asks that package's functions. Checked by reading the SQL in
every module's string literals (and sqlite-utils' `db["table"]`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_layout import ROOT, capability_of, layer_of, modules

CREATES = re.compile(r"CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
USES = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(\w+)", re.I)
# Words after FROM/INTO that are no table: SQL's own, and SQLite's catalogue.
NOT_TABLES = {"select", "values", "sqlite_master", "pragma_table_info", "json_each", "excluded"}


def package_of(module: str) -> str:
    layer = layer_of(module)
    return f"handlers.{capability_of(module)}" if layer == "capability" else layer


def strings_and_subscripts(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    tree = ast.parse(path.read_text(), str(path))
    texts, tables = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append((node.lineno, node.value))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and isinstance(node.value, ast.Name)
            and node.value.id == "db"
        ):
            tables.append((node.lineno, node.slice.value))
    return texts, tables


def owners() -> dict[str, str]:
    found = {}
    for module, path in modules().items():
        for _, text in strings_and_subscripts(path)[0]:
            for table in CREATES.findall(text):
                found[table.lower()] = package_of(module)
    return found


def trespasses() -> list[str]:
    owner = owners()
    found = []
    for module, path in modules().items():
        mine = package_of(module)
        texts, subscripts = strings_and_subscripts(path)
        used = [(line, t.lower()) for line, text in texts for t in USES.findall(text)]
        used += [(line, t.lower()) for line, t in subscripts]
        for line, table in used:
            if table in owner and owner[table] != mine:
                where = f"{path.relative_to(ROOT)}:{line}"
                found.append(f"{where}: {mine} uses table {table} of {owner[table]}")
    return sorted(set(found))


def test_every_table_has_one_owner_and_only_it_touches_the_table() -> None:
    assert trespasses() == []


def test_the_check_sees_the_tables() -> None:
    owner = owners()
    assert owner["bookings"] == "handlers.reservations"
    assert owner["tickets"] == "handlers.tickets"
    assert owner["outbox"] == "bot.core"
    assert {"users", "staff", "audit_log", "inbound", "dialog_state"} <= set(owner)
