"""Where the catalog lives: the `CatalogStore` contract and its SQLite implementation.

The catalog's SQL (catalog/store.py, jobs/queue.py) is written once, with `?` placeholders and
`ON CONFLICT ... DO UPDATE` upserts, which SQLite and PostgreSQL both speak. A store supplies
connections, transactions and the few words of DDL that differ (`{id}`, `{real}`).
SQLite is the embedded default; PostgreSQL (catalog/postgres_store.py) lets several servers
share one catalog.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Rows:
    """What one statement gave back: its rows (as dicts) and how many rows it changed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0


class Transaction(Protocol):
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Rows: ...


class CatalogStore(Protocol):
    """A database that holds the catalog; safe to share between the threads of one process."""

    # How the catalog is reached, for other processes (training workers): a path or a URL.
    location: str
    # DDL words that differ between databases, filled into the migrations' {placeholders}.
    ddl_words: dict[str, str]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]: ...

    def transaction(self) -> Any:
        """A context manager yielding a `Transaction`: committed on exit, rolled back on error.
        Transactions that change the catalog are serialized (SQLite: BEGIN IMMEDIATE)."""

    def migration_transaction(self) -> Any:
        """A transaction during which no other process migrates the same catalog."""

    def columns(self, table: str) -> set[str]: ...

    def tables(self) -> set[str]: ...

    def close(self) -> None: ...


class _SQLiteTransaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Rows:
        cursor = self._db.execute(sql, params)
        rows = [dict(r) for r in cursor.fetchall()] if cursor.description else []
        return Rows(rows, cursor.rowcount)


class SQLiteStore:
    """The catalog in one SQLite file. WAL mode lets training workers (other processes) write
    model status while servers read."""

    ddl_words = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL"}

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._connection().execute(sql, params).fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteTransaction]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")  # takes the write lock now: no upgrade deadlock later
        try:
            yield _SQLiteTransaction(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    migration_transaction = transaction  # BEGIN IMMEDIATE already excludes other writers

    def columns(self, table: str) -> set[str]:
        return {row["name"] for row in self.query(f"PRAGMA table_info({table})")}

    def tables(self) -> set[str]:
        return {row["name"] for row in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def open_store(location: str | Path) -> CatalogStore:
    """`postgresql://...` (or `postgres://`) opens a PostgreSQL catalog; anything else is a SQLite file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from augurdb.catalog.postgres_store import PostgresStore

        return PostgresStore(text)
    return SQLiteStore(Path(text))
