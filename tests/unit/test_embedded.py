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


def test_load_and_sql_commands(tmp_path: Path) -> None:
    import subprocess
    import sys

    csv = tmp_path / "scores.tsv"
    csv.write_text("who\tscore\nann\t3\nbob\t5\n")
    data = str(tmp_path / "data")
    load = subprocess.run([sys.executable, "-m", "augurdb.cli", "load", str(csv), "--name", "scores",
                           "--data-dir", data], capture_output=True, text=True, timeout=60)
    assert load.returncode == 0 and "2 rows" in load.stdout, load.stderr
    out = subprocess.run([sys.executable, "-m", "augurdb.cli", "sql", "SELECT sum(score) AS s FROM files.scores",
                          "--data-dir", data], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["s", "8"]
    bad = subprocess.run([sys.executable, "-m", "augurdb.cli", "sql", "SELECT * FROM files.none",
                          "--data-dir", data], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "ERROR 1146" in bad.stderr


def test_embedded_training_and_prediction(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 400)
    csv = tmp_path / "line.csv"
    csv.write_text("x,kind,y\n" + "".join(f"{a:.3f},{'ab'[i % 2]},{3 * a + (5 if i % 2 else 0):.3f}\n"
                                          for i, a in enumerate(x)))
    with augurdb.connect(tmp_path / "data") as con:
        con.instance.files.load("line", csv)
        created = con.execute("CREATE MODEL line FROM files (SELECT * FROM line) PREDICT y "
                              "USING time_budget = 3, join_learn_process = true").fetchone()
        assert created is not None
        status, error = con.execute("SELECT status, error FROM models WHERE name = 'line'").fetchone()
        assert status == "complete", error
        (y,) = con.execute("SELECT y FROM line WHERE x = ? AND kind = ?", [4.0, "b"]).fetchone()
        assert abs(y - 17.0) < 1.5


def test_closing_waits_for_a_training_it_started(tmp_path: Path) -> None:
    """CREATE MODEL returns at once; close() must not end the worker, or the model is left in error."""
    csv = tmp_path / "pairs.csv"
    csv.write_text("x,y\n" + "".join(f"{(i * 37) % 101 / 7:.3f},{(i * 37) % 101 / 3.5 + 1:.3f}\n" for i in range(120)))
    con = augurdb.connect(tmp_path / "data")
    con.instance.files.load("pairs", csv)
    con.execute("CREATE MODEL pairs FROM files (SELECT * FROM pairs) PREDICT y USING time_budget = 3")
    con.close()
    with augurdb.connect(tmp_path / "data") as again:
        status, error = again.execute("SELECT status, error FROM models WHERE name = 'pairs'").fetchone()
    assert status == "complete", error
