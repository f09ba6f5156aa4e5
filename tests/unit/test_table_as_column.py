"""A table's name used as a column is MySQL's error 1054, not DuckDB's whole row as a struct."""

from __future__ import annotations

import pytest

import augurdb
from augurdb.errors import AugurError


@pytest.fixture()
def cursor(tmp_path):
    con = augurdb.connect(tmp_path)
    cur = con.cursor()
    cur.execute("CREATE TABLE files.rentals (SELECT 1 AS a, 2 AS b)")
    cur.execute("CREATE TABLE files.code (SELECT 7 AS code)")  # a column named as its table
    yield cur
    con.close()


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT rentals FROM files.rentals", "Unknown column 'rentals' in 'field list'"),
    ("SELECT x FROM files.rentals AS x", "Unknown column 'x' in 'field list'"),
    ("SELECT a FROM files.rentals WHERE rentals IS NOT NULL", "Unknown column 'rentals' in 'where clause'"),
    ("SELECT (SELECT rentals FROM files.rentals) AS q", "Unknown column 'rentals' in 'field list'"),
    ("SELECT s FROM files.rentals AS r JOIN files.rentals AS s ON r.a = s.a", "Unknown column 's' in 'field list'"),
])
def test_a_tables_name_is_no_column(cursor, sql, message):
    with pytest.raises(AugurError, match=message) as raised:
        cursor.execute(sql)
    assert raised.value.code == 1054


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT code FROM files.code WHERE code = 7", [(7,)]),  # the column, not the table
    ("SELECT a AS rentals FROM files.rentals ORDER BY rentals", [(1,)]),  # a select-list alias
    ("SELECT rentals.a FROM files.rentals", [(1,)]),
])
def test_columns_and_aliases_named_like_a_table_still_read(cursor, sql, expected):
    cursor.execute(sql)
    assert cursor.fetchall() == expected
