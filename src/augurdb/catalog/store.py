"""The catalog: projects, data integrations, ML engines, files and models.

It lives in a `CatalogStore` (catalog/stores.py): a SQLite file by default, or PostgreSQL so
that several servers share one. Each write is one transaction, so a statement that fails
leaves nothing half-written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from augurdb.catalog.migrations import migrate
from augurdb.catalog.records import FileRecord, IntegrationRecord, MLEngineRecord, ModelRecord
from augurdb.catalog.secrets import SecretBox, open_secret_options, seal_secret_options
from augurdb.catalog.stores import CatalogStore, Transaction, open_store

MODEL_COLUMNS = [
    "id", "project", "name", "version", "active", "engine", "status", "predict", "source",
    "select_data_query", "training_options", "tag", "error", "accuracy", "input_columns", "dtype_dict",
    "created_at", "training_started_at", "training_stopped_at", "current_phase", "total_phases",
    "phase_name", "worker_pid", "model_schema", "trained_by",
]


class Catalog:
    """Reads and writes the catalog; safe to share between threads of one process."""

    def __init__(self, location: str | Path, secret_key: str | None = None, secret_dir: Path | None = None):
        """`location`: a SQLite file, or a postgresql:// URL. Secrets are sealed with `secret_key`,
        else with the key file in `secret_dir` (default: the SQLite file's directory)."""
        self.store: CatalogStore = open_store(location)
        self._secret_key = secret_key
        self._secret_dir = secret_dir or Path(str(location)).parent
        self._secrets: SecretBox | None = None  # made on first use: most processes never read integrations
        migrate(self.store)

    @property
    def location(self) -> str:
        return self.store.location

    def close(self) -> None:
        self.store.close()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.store.query(sql, params)

    # --- projects ---------------------------------------------------------------

    def projects(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM projects ORDER BY name")]

    def add_project(self, name: str) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO projects (name, created_at) VALUES (?, ?)", (name, time.time()))

    def drop_project(self, name: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM models WHERE project = ?", (name,))
            db.execute("DELETE FROM projects WHERE name = ?", (name,))

    # --- integrations -----------------------------------------------------------

    def integrations(self) -> list[IntegrationRecord]:
        """Linked databases with their parameters decrypted (see catalog/secrets.py)."""
        rows = self._query("SELECT * FROM integrations ORDER BY name")
        return [IntegrationRecord(r["name"], r["engine"], self._box().open(r["parameters"])) for r in rows]

    def add_integration(self, record: IntegrationRecord, *, replace: bool = False) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO integrations (name, engine, parameters, created_at) VALUES (?, ?, ?, ?)"
                       + _upsert("name", ["engine", "parameters", "created_at"], replace),
                       (record.name, record.engine, self._box().seal(record.parameters), time.time()))

    def _box(self) -> SecretBox:
        if self._secrets is None:
            self._secrets = SecretBox.for_data_dir(self._secret_dir, self._secret_key)
        return self._secrets

    def drop_integration(self, name: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM integrations WHERE name = ?", (name,))

    # --- ML engine instances -------------------------------------------------------

    def ml_engines(self) -> list[MLEngineRecord]:
        """CREATE ML_ENGINE instances, their parameters decrypted."""
        rows = self._query("SELECT * FROM ml_engines ORDER BY name")
        return [MLEngineRecord(r["name"], r["handler"], self._box().open(r["parameters"])) for r in rows]

    def add_ml_engine(self, record: MLEngineRecord, *, replace: bool = False) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO ml_engines (name, handler, parameters, created_at) VALUES (?, ?, ?, ?)"
                       + _upsert("name", ["handler", "parameters", "created_at"], replace),
                       (record.name, record.handler, self._box().seal(record.parameters), time.time()))

    def drop_ml_engine(self, name: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM ml_engines WHERE name = ?", (name,))

    # --- files ------------------------------------------------------------------

    def files(self) -> list[FileRecord]:
        return [self._file(r) for r in self._query("SELECT * FROM files ORDER BY name")]

    def file(self, name: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE name = ?", (name,))
        return self._file(rows[0]) if rows else None

    @staticmethod
    def _file(row: dict[str, Any]) -> FileRecord:
        return FileRecord(row["name"], Path(row["path"]), row["source_format"], row["row_count"],
                          json.loads(row["columns"]))

    def put_file(self, record: FileRecord) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO files (name, path, source_format, row_count, columns, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)" + _upsert("name", ["path", "source_format", "row_count", "columns",
                                                             "created_at"], True),
                (record.name, str(record.path), record.source_format, record.row_count,
                 json.dumps(record.columns), time.time()),
            )

    def drop_file(self, name: str) -> None:
        with self.store.transaction() as db:
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

    def _model(self, row: dict[str, Any]) -> ModelRecord:
        record = ModelRecord.from_row(dict(row))
        using = record.training_options.get("using")
        if using:
            record.training_options = {**record.training_options, "using": open_secret_options(using, self._box())}
        return record

    def _sealed_options(self, training_options: dict[str, Any]) -> dict[str, Any]:
        using = training_options.get("using")
        return {**training_options, "using": seal_secret_options(using, self._box())} if using else training_options

    def insert_model(self, record: ModelRecord, *, replace_existing: bool = False,
                     training_data: str | None = None) -> ModelRecord:
        """Insert a new model version; with replace_existing, drop all versions of that name first.
        With `training_data` (the name of its rows in the artifact store), the version is queued
        for training in the same transaction: a model is never left waiting for a run nobody queued."""
        values = record.to_row()
        values.pop("id")
        values["training_options"] = json.dumps(self._sealed_options(record.training_options))
        with self.store.transaction() as db:
            if replace_existing:
                db.execute("DELETE FROM models WHERE project = ? AND name = ?", (record.project, record.name))
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            inserted = db.execute(f"INSERT INTO models ({columns}) VALUES ({marks}) RETURNING id",
                                  tuple(values.values()))
            model_id = int(inserted.rows[0]["id"])
            if training_data is not None:
                db.execute("INSERT INTO jobs (model_id, state, attempts, queued_at, data_file) "
                           "VALUES (?, 'queued', 0, ?, ?)", (model_id, time.time(), training_data))
        stored = self.model(model_id)
        assert stored is not None
        return stored

    def update_model(self, model_id: int, **changes: Any) -> None:
        if not changes:
            return
        assignments, values = encode_model_changes(self, changes)
        with self.store.transaction() as db:
            db.execute(f"UPDATE models SET {assignments} WHERE id = ?", (*values, model_id))

    def activate_model(self, model_id: int) -> None:
        """Make this version the active one of its model (one active version per model)."""
        with self.store.transaction() as db:
            self.activate_in(db, model_id)

    @staticmethod
    def activate_in(db: Transaction, model_id: int) -> None:
        row = db.execute("SELECT project, name FROM models WHERE id = ?", (model_id,)).rows[0]
        db.execute("UPDATE models SET active = 0 WHERE project = ? AND name = ?", (row["project"], row["name"]))
        db.execute("UPDATE models SET active = 1 WHERE id = ?", (model_id,))

    def delete_models(self, model_ids: list[int]) -> None:
        with self.store.transaction() as db:
            for model_id in model_ids:
                db.execute("DELETE FROM models WHERE id = ?", (model_id,))


def encode_model_changes(catalog: Catalog, changes: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """`col = ?, ...` and its values for an UPDATE of models: JSON columns encoded, secrets sealed."""
    unknown = set(changes) - set(MODEL_COLUMNS)
    if unknown:
        raise ValueError(f"not model columns: {sorted(unknown)}")
    if "training_options" in changes:
        changes = {**changes, "training_options": catalog._sealed_options(changes["training_options"])}
    encoded = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in changes.items()}
    return ", ".join(f"{k} = ?" for k in encoded), tuple(encoded.values())


def _upsert(key: str, columns: list[str], replace: bool) -> str:
    """The tail of an INSERT that overwrites the row with the same key (SQLite and PostgreSQL alike)."""
    if not replace:
        return ""
    return f" ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns)
