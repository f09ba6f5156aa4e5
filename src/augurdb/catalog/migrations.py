"""Versioned schema migrations, applied at open: a catalog made by any earlier release opens.

`schema_version` records the last migration applied. Catalogs from before it existed (0.1.0)
have no such table and start at 0; migrations 1-2 tolerate the state those left behind.
A catalog newer than this release is refused rather than guessed at.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from augurdb.catalog.stores import CatalogStore, Transaction
from augurdb.errors import CatalogError

BASE_TABLES = """
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS integrations (
    name TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS ml_engines (
    name TEXT PRIMARY KEY,
    handler TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    source_format TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    columns TEXT NOT NULL,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    id {id},
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
    accuracy {real},
    input_columns TEXT,
    dtype_dict TEXT,
    created_at {real} NOT NULL,
    training_started_at {real},
    training_stopped_at {real},
    current_phase INTEGER,
    total_phases INTEGER,
    phase_name TEXT,
    worker_pid INTEGER,
    UNIQUE (project, name, version)
)
"""

# One row per training run not yet ended. A run holds a lease that its worker renews; a run whose
# lease lapsed is requeued or failed by whichever server notices (jobs/queue.py).
JOBS_TABLE = """
CREATE TABLE IF NOT EXISTS jobs (
    model_id BIGINT PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    run_id TEXT,
    owner TEXT,
    lease_expires_at {real},
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at {real} NOT NULL,
    data_file TEXT NOT NULL
)
"""

INTERRUPTED_BY_UPGRADE = ("Training was interrupted: the server stopped before it finished, "
                          "under an earlier release. Run RETRAIN.")


def _base_tables(tx: Transaction, store: CatalogStore) -> None:
    for statement in BASE_TABLES.format(**store.ddl_words).split(";"):
        tx.execute(statement)


def _model_schema(tx: Transaction, store: CatalogStore) -> None:
    if "model_schema" not in store.columns("models"):
        tx.execute("ALTER TABLE models ADD COLUMN model_schema TEXT")


def _jobs(tx: Transaction, store: CatalogStore) -> None:
    tx.execute(JOBS_TABLE.format(**store.ddl_words))
    tx.execute("ALTER TABLE models ADD COLUMN trained_by TEXT")
    # Earlier releases tracked runs by worker PID, which a restart cannot trust: fail them.
    tx.execute("UPDATE models SET status = 'error', error = ?, training_stopped_at = ? "
               "WHERE status IN ('generating', 'training')", (INTERRUPTED_BY_UPGRADE, time.time()))


MIGRATIONS: list[Callable[[Transaction, CatalogStore], None]] = [_base_tables, _model_schema, _jobs]
LATEST = len(MIGRATIONS)


def migrate(store: CatalogStore) -> int:
    """Apply the migrations the catalog lacks, each recorded with it; returns the version now."""
    with store.migration_transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                   f"applied_at {store.ddl_words['real']} NOT NULL)")
        rows = tx.execute("SELECT max(version) AS v FROM schema_version").rows
        current = int(rows[0]["v"] or 0) if rows else 0
        if current > LATEST:
            raise CatalogError(f"The catalog was made by a newer augurdb (schema version {current}; "
                               f"this release knows up to {LATEST}): upgrade augurdb to open it")
        for version in range(current + 1, LATEST + 1):
            MIGRATIONS[version - 1](tx, store)
            tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, time.time()))
    return LATEST
