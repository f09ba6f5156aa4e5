"""A catalog made by an earlier release opens in this one, its models intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from augurdb.catalog.store import SCHEMA, Catalog


def test_a_catalog_without_model_schema_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    old_schema = SCHEMA.replace("    model_schema TEXT,\n", "")
    assert "model_schema" not in old_schema
    with sqlite3.connect(path) as db:
        db.executescript(old_schema)
        db.execute("INSERT INTO projects VALUES ('mindsdb', 0)")
        db.execute("INSERT INTO models (project, name, version, active, engine, status, predict, training_options, "
                   "created_at) VALUES ('mindsdb', 'old', 1, 1, 'automl', 'complete', 'y', '{}', 0)")
    catalog = Catalog(path)
    (record,) = catalog.models()
    assert record.name == "old" and record.model_schema is None
    catalog.update_model(record.id or 0, model_schema={"inputs": [["x", "integer"]], "outputs": [["y", "float"]]})
    assert catalog.models()[0].model_schema == {"inputs": [["x", "integer"]], "outputs": [["y", "float"]]}
