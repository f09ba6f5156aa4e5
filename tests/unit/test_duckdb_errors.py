"""DuckDB's errors reach users with MySQL's code for the same mistake, in MySQL's words."""

from __future__ import annotations

import duckdb
import pytest

from augurdb.sql.duckdb_errors import as_mysql_error


@pytest.fixture(scope="module")
def db():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER, b VARCHAR); CREATE TABLE u (a INTEGER); INSERT INTO t VALUES (1, 'x')")
    return con


CASES = [
    ("SELECT x FROM t", 1054, "Unknown column 'x' in 'field list'"),
    ("SELECT z.a FROM t", 1109, "Unknown table 'z' in field list"),
    ("SELECT a FROM t, u", 1052, "Column 'a' in field list is ambiguous"),
    ("SELECT a, count(*) FROM t", 1055, "'a' isn't in GROUP BY"),
    ("SELECT * FROM t ORDER BY 5", 1054, "Unknown column position in 'order by': the select list has 2 columns"),
    ("SELECT a FROM t GROUP BY 3", 1054, "Unknown column position in 'group by': the select list has 1 column"),
    ("SELECT sum(sum(a)) FROM t", 1111, "Invalid use of group function"),
    ("SELECT a FROM t WHERE sum(a) > 1", 1111, "Invalid use of group function"),
    ("SELECT a FROM t UNION SELECT a, b FROM t", 1222, "different number of columns"),
    ("SELECT *", 1096, "No tables used"),
    ("SELECT (SELECT v FROM (VALUES (1), (2)) AS s(v))", 1242, "Subquery returns more than 1 row"),
    ("SELECT CAST('x' AS INTEGER)", 1292, "Truncated incorrect INTEGER value: 'x'"),
    ("SELECT 9223372036854775807::BIGINT + 1", 1690, "BIGINT value is out of range"),
    ("SELECT lower(1, 2)", 1210, "Incorrect arguments to lower: no form of it takes (INTEGER, INTEGER)"),
    ("SELECT 'a' + 1", 1210, "Incorrect arguments to +"),
    ("SELECT a FROM t WHERE b > 1", 1210, "Cannot compare VARCHAR with INTEGER"),
    ("SELECT a FROM t WHERE b BETWEEN 1 AND 2", 1210, "Cannot compare VARCHAR with INTEGER in BETWEEN"),
    ("SELECT a.files FROM t", 1054, "Unknown column 'a.files' in 'field list'"),
    ("SELECT c + 1, a AS c FROM t", 1054, "Unknown column 'c' in 'field list': an alias is known only after"),
    ("SELECT CAST(1 AS DECIMAL(2, 5))", 1427, "For DECIMAL(M,D), M must be >= D"),
    ("SELECT sqft", 1054, "Unknown column 'sqft' in 'field list'"),
    ("SELECT a FROM t GROUP BY sum(a)", 1056, "Can't group on an aggregate function"),
    ("SELECT a FROM t WHERE a = ?", 1064, "A '?' placeholder outside a prepared statement"),
    ("SELECT * + 1 FROM t", 1064, "'*' can only stand alone"),
    ("SELECT CAST(1 AS DECIMAL(5, 2.5))", 1064, "DECIMAL(M,D) takes whole numbers"),
    ("SELECT a FROM t WHERE a LIKE 'x%'", 1210, "Incorrect arguments to ~~"),
    ("SELECT t.zz FROM t", 1054, "Unknown column 't.zz' in 'field list'"),
    ("SELECT m.zz FROM (VALUES (1)) AS m(v)", 1054, "Unknown column 'm.zz' in 'field list'"),
    ("SELECT CAST(1 AS DECIMAL(NULL, 2))", 1064, "DECIMAL(M,D) takes whole numbers"),
    ("SELECT a FROM t LIMIT -1", 1064, "LIMIT and OFFSET take whole numbers of 0 or more"),
    ("SELECT nope(1)", 1305, "FUNCTION nope does not exist"),
    ("SELECT coalesce(b, t) FROM t", 1241, "Operand should contain 1 column(s)"),
    ("SELECT a FROM t WHERE b IN (SELECT 'x' UNION ALL SELECT t FROM t)", 1241, "Operand should contain 1 column(s)"),
    ("SELECT a FROM t WHERE t IN ('x', 'y')", 1241, "Operand should contain 1 column(s)"),
    ("SELECT coalesce(b, 1::INTEGER) FROM t", 1210, "Cannot mix VARCHAR with INTEGER in COALESCE"),
    ("SELECT * FROM nope_table", 1146, "Table with name nope_table does not exist"),
]


@pytest.mark.parametrize(("sql", "code", "text"), CASES, ids=[c[0] for c in CASES])
def test_a_duckdb_error_gets_mysqls_code_and_words(db, sql, code, text):
    with pytest.raises(duckdb.Error) as caught:
        db.execute(sql).fetchall()
    error = as_mysql_error(caught.value)
    assert (error.code, text in error.message) == (code, True), error.message
    assert " Error: " not in error.message  # never DuckDB's class prefix
