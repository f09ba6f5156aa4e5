"""Columns named with their database, as MySQL allows and BI tools write them: files.t.a."""

from __future__ import annotations

import pytest

import augurdb
from augurdb.errors import AugurError


@pytest.fixture()
def cursor(tmp_path):
    con = augurdb.connect(tmp_path)
    cur = con.cursor()
    cur.execute("CREATE TABLE files.t (SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y')")
    yield cur
    con.close()


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT files.t.a FROM files.t WHERE files.t.b = 'y'", [(2,)]),
    ("SELECT `files`.`t`.`b`, files.t.* FROM `files`.`t` ORDER BY files.t.a DESC", [("y", 2, "y"), ("x", 1, "x")]),
    ("SELECT files.t.a, u.b FROM files.t JOIN files.t AS u ON files.t.a = u.a + 1", [(2, "x")]),
    ("SELECT (SELECT MAX(files.t.a) FROM files.t) AS most", [(2,)]),
    ("SELECT information_schema.tables.table_name FROM information_schema.tables "
     "WHERE information_schema.tables.table_schema = 'files'", [("t",)]),
])
def test_a_column_may_name_its_database_and_table(cursor, sql, expected):
    cursor.execute(sql)
    assert cursor.fetchall() == expected


@pytest.mark.parametrize("sql", [
    "SELECT files.t.a FROM files.t AS x",  # once aliased, the table is known by its alias only
    "SELECT files.u.a FROM files.t",
    "SELECT other.t.a FROM files.t",
])
def test_a_database_qualified_column_of_no_table_in_scope_is_refused(cursor, sql):
    with pytest.raises(AugurError) as refused:
        cursor.execute(sql)
    assert refused.value.code in (1054, 1109)
