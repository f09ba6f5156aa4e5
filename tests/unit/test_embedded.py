"""The embedded DB-API connection: statements run in-process, no server."""

from __future__ import annotations

from pathlib import Path

import pytest

import augurdb
from augurdb.errors import UnknownTable


def test_connect_load_query_and_fetch_shapes(tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("name,age\nann,31\nbob,\n")
    with augurdb.connect(tmp_path / "data") as con:
        con.instance.files.load("people", csv)
        cursor = con.execute("SELECT name, age FROM files.people WHERE name = ? ORDER BY name", ["bob"])
        assert [d[0] for d in cursor.description] == ["name", "age"]
        assert cursor.fetchall() == [("bob", None)]
        assert con.execute("SELECT count(*) AS n FROM files.people").fetch_df()["n"].tolist() == [2]
        assert con.execute("SELECT * FROM files.people").fetch_arrow().num_rows == 2
        with pytest.raises(UnknownTable):
            con.execute("SELECT * FROM files.nobody")
