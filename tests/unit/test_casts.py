"""MySQL's implicit numeric casts over text columns (sql/casts.py)."""

from __future__ import annotations

import datetime

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


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 2 - '1.5'", 0.5),  # DuckDB alone: 0, '1.5' read as the integer 2
    ("SELECT '2.5' * 2", 5.0),
    ("SELECT 1 + '2'", 3.0),  # DuckDB alone cannot choose between + of numbers and of a date
    ("SELECT '6' / 4", 1.5),
    ("SELECT 7 % '4'", 3.0),
    ("SELECT 'abc' + 1", 1.0),  # MySQL reads the text's leading number, here none: 0 (and warns)
    ("SELECT '2x' * 2", 4.0),
    ("SELECT ' -1.5e1 kg' + 0", -15.0),
    ("SELECT 7 DIV '2'", 3),
    ("SELECT 1 + 2", 3),  # numbers keep their integer arithmetic
])
def test_arithmetic_on_a_quoted_number_is_in_double_as_in_mysql(tmp_path, sql: str, expected: object) -> None:
    import augurdb

    cur = augurdb.connect(tmp_path).cursor()
    cur.execute(sql)
    (value,), = cur.fetchall()
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT '2024-01-01' + INTERVAL 1 DAY", datetime.datetime(2024, 1, 2)),  # as DATE_ADD answers
    ("SELECT '2024-03-31 10:30:00' - INTERVAL 1 MONTH", datetime.datetime(2024, 2, 29, 10, 30)),
    ("SELECT 'soon' + INTERVAL 1 DAY", None),  # MySQL: NULL too
    ("SELECT INTERVAL 1 DAY + '2024-01-01'", datetime.datetime(2024, 1, 2)),  # the interval first
    ("SELECT INTERVAL 2 HOUR + '2024-01-01 10:00:00'", datetime.datetime(2024, 1, 1, 12)),
])
def test_a_quoted_date_beside_an_interval_is_date_arithmetic(tmp_path, sql: str, expected: object) -> None:
    import augurdb

    cur = augurdb.connect(tmp_path).cursor()
    cur.execute(sql)
    assert cur.fetchall() == [(expected,)]


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 'a' = 1", 0),  # MySQL compares as numbers: 'a' reads 0
    ("SELECT 'a' = 0", 1),
    ("SELECT '12abc' < 13", 1),
    ("SELECT 1 = '1.0'", 1),
    ("SELECT ' 3e1z' = 30", 1),
    ("SELECT 'x' = 'x'", 1),  # text with text stays a text comparison
])
def test_a_quoted_value_compared_with_a_number_reads_as_mysql_reads_it(tmp_path, sql: str, expected: int) -> None:
    import augurdb

    cur = augurdb.connect(tmp_path).cursor()
    cur.execute(sql)
    assert cur.fetchall() == [(expected,)]
    cur.execute("CREATE TABLE files.t (SELECT 5 AS n)")
    cur.execute(sql.replace("SELECT ", "SELECT n FROM files.t WHERE ", 1))
    assert cur.fetchall() == ([(5,)] if expected else [])


@pytest.mark.parametrize(("sql", "warned"), [
    ("SELECT '12abc' < 13, 'abc' + 1", ["12abc", "abc"]),
    ("SELECT '1' = 1, ' 2 ' + 1, 2 - '1.5'", []),  # all of the text is the number
    ("SELECT '2024-01-01' + INTERVAL 1 DAY, 'x' = 'x'", []),  # a date; text with text
])
def test_text_left_over_from_a_quoted_number_is_warned_of_as_in_mysql(tmp_path, sql: str, warned: list[str]) -> None:
    import augurdb

    cur = augurdb.connect(tmp_path).cursor()
    cur.execute(sql)
    cur.execute("SHOW WARNINGS")
    assert cur.fetchall() == [("Warning", 1292, f"Truncated incorrect DOUBLE value: '{text}'") for text in warned]
