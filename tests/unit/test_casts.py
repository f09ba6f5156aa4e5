"""MySQL's implicit numeric casts over text columns (sql/casts.py)."""

from __future__ import annotations

import pytest

from augurdb.sql.casts import numeric_comparisons
from augurdb.sql.parser import parse


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT * FROM t WHERE s > 900 AND x = 'a'", "SELECT * FROM t WHERE TRY_CAST(s AS DOUBLE) > 900 AND x = 'a'"),
    ("SELECT * FROM t WHERE 900 < s", "SELECT * FROM t WHERE 900 < TRY_CAST(s AS DOUBLE)"),
    ("SELECT * FROM t WHERE s IN (1, -2)", "SELECT * FROM t WHERE TRY_CAST(s AS DOUBLE) IN (1, -2)"),
    ("SELECT * FROM t WHERE s IN (1, 'a')", "SELECT * FROM t WHERE s IN (1, 'a')"),
    ("SELECT * FROM t WHERE s BETWEEN 1 AND 9", "SELECT * FROM t WHERE TRY_CAST(s AS DOUBLE) BETWEEN 1 AND 9"),
    ("SELECT * FROM t WHERE a = b", "SELECT * FROM t WHERE a = b"),
])
def test_column_compared_with_a_number_is_cast(sql: str, expected: str) -> None:
    assert numeric_comparisons(parse(sql)[0]).sql("duckdb") == expected


def test_text_compared_with_a_number_through_a_query(tmp_path) -> None:
    import augurdb

    con = augurdb.connect(tmp_path)
    cur = con.cursor()
    cur.execute("CREATE TABLE files.t (SELECT '1000' AS s, 5 AS n UNION ALL SELECT 'abc', 7)")
    cur.execute("SELECT n FROM files.t WHERE s > 900")
    assert cur.fetchall() == [(5,)]
    cur.execute("SELECT n FROM files.t WHERE s = 'abc'")
    assert cur.fetchall() == [(7,)]
