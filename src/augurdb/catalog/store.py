"""The catalog: projects, data integrations, files and models, in SQLite.

Each write is one SQLite transaction, so a statement that fails leaves nothing
half-written. WAL mode lets the training workers (other processes) update model
status while the server reads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from augurdb.catalog.records import FileRecord, IntegrationRecord, MLEngineRecord, ModelRecord
from augurdb.catalog.secrets import SecretBox, open_secret_options, seal_secret_options

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS integrations (
    name TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ml_engines (
    name TEXT PRIMARY KEY,
    handler TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    source_format TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    columns TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL REFERENCES projects(name),
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    active INTEGER NOT NULL,
    engine TEXT NOT NULL,
    status TEXT NOT NULL,
    predict TEXT NOT NULL,
    source TEXT,
    select_data_query TEXT,
    training_options TEXT NOT NULL,
    tag TEXT,
    error TEXT,
    accuracy REAL,
    input_columns TEXT,
    dtype_dict TEXT,
    created_at REAL NOT NULL,
    training_started_at REAL,
    training_stopped_at REAL,
    current_phase INTEGER,
    total_phases INTEGER,
    phase_name TEXT,
    worker_pid INTEGER,
    model_schema TEXT,
    UNIQUE (project, name, version)
);
"""

# Columns added after a release: (table, column, type). Applied at open to catalogs made before.
MIGRATIONS = [("models", "model_schema", "TEXT")]

MODEL_COLUMNS = [
    "id", "project", "name", "version", "active", "engine", "status", "predict", "source",
    "select_data_query", "training_options", "tag", "error", "accuracy", "input_columns", "dtype_dict",
    "created_at", "training_started_at", "training_stopped_at", "current_phase", "total_phases",
    "phase_name", "worker_pid", "model_schema",
]


class Catalog:
    """Reads and writes the catalog; safe to share between threads of one process."""

    def __init__(self, path: Path, secret_key: str | None = None):
        self.path = path
        self._secret_key = secret_key
        self._secrets: SecretBox | None = None  # made on first use: most processes never read integrations
        self._local = threading.local()
        self._connection().executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns a catalog made by an older release lacks."""
        with self._transaction() as db:
            for table, column, kind in MIGRATIONS:
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, params).fetchall()

    # --- projects ---------------------------------------------------------------

    def projects(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM projects ORDER BY name")]

    def add_project(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO projects (name, created_at) VALUES (?, ?)", (name, time.time()))

    def drop_project(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM models WHERE project = ?", (name,))
            db.execute("DELETE FROM projects WHERE name = ?", (name,))

    # --- integrations -----------------------------------------------------------

    def integrations(self) -> list[IntegrationRecord]:
        """Linked databases with their parameters decrypted (see catalog/secrets.py)."""
        rows = self._query("SELECT * FROM integrations ORDER BY name")
        return [IntegrationRecord(r["name"], r["engine"], self._box().open(r["parameters"])) for r in rows]

    def add_integration(self, record: IntegrationRecord, *, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self._transaction() as db:
            db.execute(f"{verb} INTO integrations (name, engine, parameters, created_at) VALUES (?, ?, ?, ?)",
                       (record.name, record.engine, self._box().seal(record.parameters), time.time()))

    def _box(self) -> SecretBox:
        if self._secrets is None:
            self._secrets = SecretBox.for_data_dir(self.path.parent, self._secret_key)
        return self._secrets

    def drop_integration(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM integrations WHERE name = ?", (name,))

    # --- ML engine instances -------------------------------------------------------

    def ml_engines(self) -> list[MLEngineRecord]:
        """CREATE ML_ENGINE instances, their parameters decrypted."""
        rows = self._query("SELECT * FROM ml_engines ORDER BY name")
        return [MLEngineRecord(r["name"], r["handler"], self._box().open(r["parameters"])) for r in rows]

    def add_ml_engine(self, record: MLEngineRecord, *, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self._transaction() as db:
            db.execute(f"{verb} INTO ml_engines (name, handler, parameters, created_at) VALUES (?, ?, ?, ?)",
                       (record.name, record.handler, self._box().seal(record.parameters), time.time()))

    def drop_ml_engine(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ml_engines WHERE name = ?", (name,))

    # --- files ------------------------------------------------------------------

    def files(self) -> list[FileRecord]:
        return [self._file(r) for r in self._query("SELECT * FROM files ORDER BY name")]

    def file(self, name: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE name = ?", (name,))
        return self._file(rows[0]) if rows else None

    @staticmethod
    def _file(row: sqlite3.Row) -> FileRecord:
        return FileRecord(row["name"], Path(row["path"]), row["source_format"], row["row_count"],
                          json.loads(row["columns"]))

    def put_file(self, record: FileRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO files (name, path, source_format, row_count, columns, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.name, str(record.path), record.source_format, record.row_count,
                 json.dumps(record.columns), time.time()),
            )

    def drop_file(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM files WHERE name = ?", (name,))

    # --- models -----------------------------------------------------------------

    def models(self, project: str | None = None, name: str | None = None) -> list[ModelRecord]:
        sql, params = "SELECT * FROM models WHERE 1=1", list[Any]()
        if project is not None:
            sql, params = sql + " AND project = ?", [*params, project]
        if name is not None:
            sql, params = sql + " AND name = ?", [*params, name]
        rows = self._query(sql + " ORDER BY project, name, version", tuple(params))
        return [self._model(r) for r in rows]

    def model(self, model_id: int) -> ModelRecord | None:
        rows = self._query("SELECT * FROM models WHERE id = ?", (model_id,))
        return self._model(rows[0]) if rows else None

    def _model(self, row: sqlite3.Row) -> ModelRecord:
        record = ModelRecord.from_row(dict(row))
        using = record.training_options.get("using")
        if using:
            record.training_options = {**record.training_options, "using": open_secret_options(using, self._box())}
        return record

    def _sealed_options(self, training_options: dict[str, Any]) -> dict[str, Any]:
        using = training_options.get("using")
        return {**training_options, "using": seal_secret_options(using, self._box())} if using else training_options

    def insert_model(self, record: ModelRecord, *, replace_existing: bool = False) -> ModelRecord:
        """Insert a new model version; with replace_existing, drop all versions of that name first."""
        values = record.to_row()
        values.pop("id")
        values["training_options"] = json.dumps(self._sealed_options(record.training_options))
        with self._transaction() as db:
            if replace_existing:
                db.execute("DELETE FROM models WHERE project = ? AND name = ?", (record.project, record.name))
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cursor = db.execute(f"INSERT INTO models ({columns}) VALUES ({marks})", tuple(values.values()))
            model_id = cursor.lastrowid
        stored = self.model(int(model_id or 0))
        assert stored is not None
        return stored

    def update_model(self, model_id: int, **changes: Any) -> None:
        if not changes:
            return
        unknown = set(changes) - set(MODEL_COLUMNS)
        if unknown:
            raise ValueError(f"not model columns: {sorted(unknown)}")
        if "training_options" in changes:
            changes["training_options"] = self._sealed_options(changes["training_options"])
        encoded = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in changes.items()}
        assignments = ", ".join(f"{k} = ?" for k in encoded)
        with self._transaction() as db:
            db.execute(f"UPDATE models SET {assignments} WHERE id = ?", (*encoded.values(), model_id))

    def activate_model(self, model_id: int) -> None:
        """Make this version the active one of its model (one active version per model)."""
        with self._transaction() as db:
            row = db.execute("SELECT project, name FROM models WHERE id = ?", (model_id,)).fetchone()
            db.execute("UPDATE models SET active = 0 WHERE project = ? AND name = ?", (row[0], row[1]))
            db.execute("UPDATE models SET active = 1 WHERE id = ?", (model_id,))

    def delete_models(self, model_ids: list[int]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM models WHERE id = ?", [(i,) for i in model_ids])

    def fail_unfinished_models(self, reason: str) -> int:
        """Models left generating/training by a process that is gone go to `error`."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE models SET status = 'error', error = ?, training_stopped_at = ? "
                "WHERE status IN ('generating', 'training')",
                (reason, time.time()),
            )
            return cursor.rowcount
