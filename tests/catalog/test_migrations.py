"""Catalogs made by earlier releases open in this one, their contents intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from augurdb.catalog.migrations import BASE_TABLES, LATEST
from augurdb.catalog.store import Catalog
from augurdb.catalog.stores import SQLiteStore
from augurdb.errors import CatalogError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
# The key release-0.1.0.sql's secrets were sealed with (a test key, made for that fixture).
RELEASE_0_1_0_KEY = "hIu2V4yYxN1QlJZxFZ-2bmJ0o3l6PPYXVKTnNqV0eLg="


def _versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version FROM schema_version ORDER BY version")]


def test_a_catalog_made_by_release_0_1_0_opens_with_everything_in_it(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript((FIXTURES / "release-0.1.0.sql").read_text())
    catalog = Catalog(path, RELEASE_0_1_0_KEY)
    assert _versions(path) == list(range(1, LATEST + 1))
    assert catalog.projects() == ["mindsdb", "p2"]
    (model,) = catalog.models()
    assert (model.qualified_name, model.status, model.active, model.predict) == ("mindsdb.m", "complete", True, "label")
    assert model.input_columns == ["x", "color"] and model.trained_by is None
    assert [f.name for f in catalog.files()] == ["t"] and catalog.file("t").row_count == 60  # type: ignore[union-attr]
    (lite,) = catalog.integrations()
    assert (lite.engine, lite.parameters) == ("sqlite", {"db_file": "/tmp/rel/src.sqlite"})
    (engine,) = catalog.ml_engines()
    assert (engine.handler, engine.parameters["api_token"]) == ("http", "tok3n")
    # It takes new writes of every kind, the new columns included.
    catalog.update_model(model.id or 0, trained_by="host:1")
    assert catalog.models()[0].trained_by == "host:1"
    Catalog(path, RELEASE_0_1_0_KEY)  # opening again applies nothing twice
    assert _versions(path) == list(range(1, LATEST + 1))


def test_a_catalog_from_before_model_schema_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(BASE_TABLES.format(**SQLiteStore.ddl_words))
        db.execute("INSERT INTO projects VALUES ('mindsdb', 0)")
        db.execute("INSERT INTO models (project, name, version, active, engine, status, predict, training_options, "
                   "created_at) VALUES ('mindsdb', 'old', 1, 1, 'automl', 'complete', 'y', '{}', 0)")
    catalog = Catalog(path)
    (record,) = catalog.models()
    assert record.name == "old" and record.model_schema is None
    catalog.update_model(record.id or 0, model_schema={"inputs": [["x", "integer"]], "outputs": [["y", "float"]]})
    assert catalog.models()[0].model_schema == {"inputs": [["x", "integer"]], "outputs": [["y", "float"]]}


def test_a_training_left_unfinished_by_an_earlier_release_ends_in_error(tmp_path: Path) -> None:
    """0.1.0 tracked runs by worker PID; nothing can resume them, so they say why they stopped."""
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript((FIXTURES / "release-0.1.0.sql").read_text())
        db.execute("UPDATE models SET status = 'training', worker_pid = 1")
    (model,) = Catalog(path, RELEASE_0_1_0_KEY).models()
    assert model.status == "error" and "RETRAIN" in (model.error or "")


def test_a_catalog_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (?, 0)", (LATEST + 1,))
    with pytest.raises(CatalogError, match="newer augurdb"):
        Catalog(path)
