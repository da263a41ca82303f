"""SQLite through sqlite-utils: one way to open the database, one way to migrate it.

Every connection uses WAL (readers never block the writer) and a busy timeout (writers
queue instead of failing), because web workers, handler threads and the scheduler share
one file. Each module owns its tables through its own `Migrations("name")`; `migrate()`
applies them all, serialised by a file lock so that workers starting together never race
to create the same table.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_MS = 10_000


def connect(path: str | Path) -> Database:
    """Open (creating if needed) the database file with the project's pragmas."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: autocommit, so a statement is its own transaction and
    # db.atomic() / explicit BEGIN IMMEDIATE decide where longer ones start and end.
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return Database(conn)


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE … COMMIT: take the write lock up front, so a read-then-write
    cannot be overtaken by another process between the read and the write."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


@contextmanager
def file_lock(path: str | Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive lock on `path` (created if missing) between processes, held until the
    block ends or the process dies — the kernel releases it even on kill -9. Yields False
    when `blocking` is off and another process holds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sibling(db_path: str | Path, suffix: str) -> Path:
    """A file beside the database (locks, keys): `guanban.sqlite3.<suffix>`."""
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.name}.{suffix}")


def migrate(db_path: str | Path, migration_sets: Iterable[Migrations]) -> list[str]:
    """Apply every pending migration; returns the names applied ("set:name")."""
    applied: list[str] = []
    with file_lock(sibling(db_path, "migrate-lock")):
        db = connect(db_path)
        try:
            for migrations in migration_sets:
                pending = [m.name for m in migrations.pending(db)]
                migrations.apply(db)
                applied.extend(f"{migrations.name}:{name}" for name in pending)
        finally:
            db.close()
    return applied


class Databases:
    """One connection per thread for one database file.

    sqlite3 connections must not be shared by threads that write at the same time;
    opening one per call would cost a few hundred microseconds of pragmas each time.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def get(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db

    def ping(self) -> None:
        self.get().execute("SELECT 1").fetchone()
