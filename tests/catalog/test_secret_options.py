"""A model's secret USING options are stored encrypted and read back as written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from augurdb.catalog.records import ModelRecord
from augurdb.catalog.store import Catalog


def test_secret_options_are_sealed_in_the_file_and_open_on_read(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.add_project("mindsdb")
    using = {"url": "http://h/score", "api_token": "tok-123", "headers": {"Authorization": "Bearer hdr-456"},
             "batch_size": 10, "password": ""}
    record = catalog.insert_model(ModelRecord(project="mindsdb", name="m", version=1, engine="http", predict="y",
                                              training_options={"target": "y", "using": using}))
    assert record.training_options["using"] == using
    assert record.id is not None
    catalog.update_model(record.id, training_options={"target": "y", "using": {**using, "api_token": "tok-789"}})
    updated = catalog.model(record.id)
    assert updated is not None and updated.training_options["using"]["api_token"] == "tok-789"
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        (raw,) = db.execute("SELECT training_options FROM models").fetchone()
    assert "tok-" not in raw and "hdr-456" not in raw
    assert '"batch_size": 10' in raw and '"url": "http://h/score"' in raw  # the rest stays readable
