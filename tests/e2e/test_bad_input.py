"""Statements a new user gets wrong, refused at once; what BI tools and JDBC ask of the server."""

from __future__ import annotations

import pymysql
import pytest
from tests.conftest import RunningServer
from tests.e2e.helpers import assert_complete, mysql, query, upload, wait_for_model

from augurdb.executor.system_tables import COLUMNS_COLUMNS


@pytest.fixture(scope="module")
def rows_file(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("few") / "few.csv"
    path.write_text("x,label\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(10)))
    upload(server, "few_rows", path)
    return "few_rows"


def mysql_error(server: RunningServer, sql: str) -> tuple[int, str]:
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.MySQLError) as error:
        cur.execute(sql)
    return error.value.args[0], error.value.args[1]


@pytest.mark.parametrize("rows", [1, 2, 5, 9])
def test_too_few_rows_fail_at_create_and_store_nothing(server: RunningServer, rows_file: str, rows: int) -> None:
    code, message = mysql_error(server, f"CREATE MODEL few_{rows} FROM files (SELECT * FROM {rows_file} "
                                        f"LIMIT {rows}) PREDICT label")
    assert code == 1210
    assert message == f"[automl] need at least 10 rows with a known 'label' to learn from, got {rows}"
    assert query(server, f"SELECT * FROM mindsdb.models WHERE name = 'few_{rows}'") == []


def test_ten_rows_are_enough(server: RunningServer, rows_file: str) -> None:
    query(server, f"CREATE MODEL few_10 FROM files (SELECT * FROM {rows_file}) PREDICT label "
                  "USING time_budget = 2, mixers = ['Linear']")
    assert_complete(wait_for_model(server, "few_10"))


def test_an_unknown_option_lists_every_valid_one(server: RunningServer, rows_file: str) -> None:
    code, message = mysql_error(server, f"CREATE MODEL typo FROM files (SELECT * FROM {rows_file}) PREDICT label "
                                        "USING time_budjet = 5")
    assert code == 1210 and message.startswith("[automl] unknown USING option(s) time_budjet; valid options: ")
    for option in ("time_budget", "dtype_dict", "engine", "tag", "seed", "join_learn_process", "active",
                   "mixers", "encoders", "ignore_columns", "accuracy_functions"):
        assert option in message
    assert query(server, "SELECT * FROM mindsdb.models WHERE name = 'typo'") == []


@pytest.mark.parametrize("using", ["engine = 'mlflow', url.predict = 'http://127.0.0.1:9/invocations'",
                                   "engine = 'http', url = 'http://127.0.0.1:9/predict'"])
def test_a_linked_engines_unknown_option_lists_its_own_and_the_servers(server: RunningServer, using: str) -> None:
    code, message = mysql_error(server, f"CREATE MODEL typo_link PREDICT y USING {using}, formt = 'json'")
    engine = using.split("'")[1]
    assert code == 1210 and message.startswith(f"[{engine}] unknown USING option(s) formt; valid options: "), message
    for option in ("engine", "tag", "join_learn_process", "active", "format" if engine == "mlflow" else "url"):
        assert option in message
    assert query(server, "SELECT * FROM mindsdb.models WHERE name = 'typo_link'") == []


def test_port_variable_is_the_servers_mysql_port(server: RunningServer) -> None:
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("SELECT @@port, @@global.port")
        assert cur.fetchone() == (server.mysql_port, server.mysql_port)
        cur.execute("SHOW VARIABLES LIKE 'port'")
        assert cur.fetchall() == (("port", str(server.mysql_port)),)
    assert mysql_error(server, "SET @@port = 3306") == (1238, "Variable 'port' is a read only variable")


def test_information_schema_columns_has_mysql8s_columns(server: RunningServer, rows_file: str) -> None:
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'files' AND TABLE_NAME = %s "
                    "ORDER BY ORDINAL_POSITION", (rows_file,))
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert names == [name for name, _ in COLUMNS_COLUMNS] == [
        "TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_DEFAULT",
        "IS_NULLABLE", "DATA_TYPE", "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION",
        "NUMERIC_SCALE", "DATETIME_PRECISION", "CHARACTER_SET_NAME", "COLLATION_NAME", "COLUMN_TYPE", "COLUMN_KEY",
        "EXTRA", "PRIVILEGES", "COLUMN_COMMENT", "GENERATION_EXPRESSION", "SRS_ID"]
    x, label = rows
    assert (x["COLUMN_NAME"], x["DATA_TYPE"], x["NUMERIC_PRECISION"], x["NUMERIC_SCALE"],
            x["CHARACTER_OCTET_LENGTH"], x["CHARACTER_SET_NAME"]) == ("x", "bigint", 19, 0, None, None)
    assert (label["COLUMN_NAME"], label["DATA_TYPE"], label["CHARACTER_MAXIMUM_LENGTH"],
            label["CHARACTER_OCTET_LENGTH"], label["NUMERIC_PRECISION"], label["CHARACTER_SET_NAME"],
            label["COLLATION_NAME"]) == ("label", "text", 65535, 65535, None, "utf8mb4", "utf8mb4_0900_ai_ci")


# What MySQL Connector/J's DatabaseMetaData.getColumns sends (DBeaver expanding a table), abridged
# to one branch of each CASE; the rest of each CASE has the same shape.
JDBC_GET_COLUMNS = """
SELECT TABLE_SCHEMA, NULL, TABLE_NAME, COLUMN_NAME,
 CASE WHEN UPPER(DATA_TYPE)='BIGINT' THEN -5 WHEN UPPER(DATA_TYPE)='TEXT' THEN -1 ELSE 1111 END AS DATA_TYPE,
 UPPER(CASE WHEN LOCATE('UNSIGNED', UPPER(COLUMN_TYPE)) != 0 AND LOCATE('UNSIGNED', UPPER(DATA_TYPE)) = 0
  THEN CONCAT(DATA_TYPE, ' UNSIGNED') WHEN UPPER(DATA_TYPE)='POINT' THEN 'GEOMETRY'
  ELSE UPPER(DATA_TYPE) END) AS TYPE_NAME,
 UPPER(CASE WHEN UPPER(DATA_TYPE)='DATE' THEN 10
  WHEN UPPER(DATA_TYPE)='DATETIME' OR UPPER(DATA_TYPE)='TIMESTAMP'
  THEN 19+(CASE WHEN DATETIME_PRECISION>0 THEN DATETIME_PRECISION+1 ELSE DATETIME_PRECISION END)
  WHEN CHARACTER_MAXIMUM_LENGTH IS NULL THEN NUMERIC_PRECISION
  WHEN CHARACTER_MAXIMUM_LENGTH > 2147483647 THEN 2147483647 ELSE CHARACTER_MAXIMUM_LENGTH END) AS COLUMN_SIZE,
 65535 AS BUFFER_LENGTH,
 UPPER(CASE WHEN UPPER(DATA_TYPE)='DECIMAL' THEN NUMERIC_SCALE WHEN UPPER(DATA_TYPE)='FLOAT'
  OR UPPER(DATA_TYPE)='DOUBLE' THEN CASE WHEN NUMERIC_SCALE IS NULL THEN 0 ELSE NUMERIC_SCALE END
  ELSE NULL END) AS DECIMAL_DIGITS,
 10 AS NUM_PREC_RADIX,
 CASE WHEN IS_NULLABLE='NO' THEN 0 ELSE CASE WHEN IS_NULLABLE='YES' THEN 1 ELSE 2 END END AS NULLABLE,
 COLUMN_COMMENT AS REMARKS, COLUMN_DEFAULT AS COLUMN_DEF, 0 AS SQL_DATA_TYPE, 0 AS SQL_DATETIME_SUB,
 CASE WHEN CHARACTER_OCTET_LENGTH > 2147483647 THEN 2147483647 ELSE CHARACTER_OCTET_LENGTH END
  AS CHAR_OCTET_LENGTH,
 ORDINAL_POSITION, IS_NULLABLE, NULL AS SCOPE_CATALOG, NULL AS SCOPE_SCHEMA, NULL AS SCOPE_TABLE,
 NULL AS SOURCE_DATA_TYPE, IF (EXTRA LIKE '%%auto_increment%%','YES','NO') AS IS_AUTOINCREMENT,
 IF (EXTRA LIKE '%%GENERATED%%','YES','NO') AS IS_GENERATEDCOLUMN
FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA LIKE %s AND TABLE_NAME LIKE %s
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"""


def test_jdbc_get_columns_query(server: RunningServer, rows_file: str) -> None:
    with mysql(server) as con, con.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(JDBC_GET_COLUMNS, ("files", "%"))
        rows = [r for r in cur.fetchall() if r["TABLE_NAME"] == rows_file]
    assert [(r["COLUMN_NAME"], r["DATA_TYPE"], r["TYPE_NAME"], r["COLUMN_SIZE"], r["CHAR_OCTET_LENGTH"],
             r["ORDINAL_POSITION"], r["NULLABLE"], r["IS_AUTOINCREMENT"]) for r in rows] == [
        ("x", -5, "BIGINT", "19", None, 1, 1, "NO"),
        ("label", -1, "TEXT", "65535", 65535, 2, 1, "NO")]


@pytest.mark.parametrize(("sql", "code", "message"), [
    ("SELECT x FROM files.few_rows AS a JOIN files.few_rows AS b ON a.x = b.x",
     1052, "Column 'x' in field list is ambiguous"),
    ("SELECT label, count(*) FROM files.few_rows", 1055,
     "'label' isn't in GROUP BY: group by it or use it inside an aggregate function"),
    ("SELECT x FROM files.few_rows ORDER BY 3", 1054,
     "Unknown column position in 'order by': the select list has 1 column"),
])
def test_a_mistake_duckdb_finds_gets_mysqls_code(server: RunningServer, rows_file: str, sql: str, code: int,
                                                message: str) -> None:
    """Over the wire, as a client sees it: MySQL's code and words, not DuckDB's 'Binder Error'."""
    assert mysql_error(server, sql) == (code, message)


def test_order_by_a_constant_is_ignored_as_mysql_ignores_it(server: RunningServer, rows_file: str) -> None:
    """`GROUP BY ... ORDER BY NULL` is MySQL's idiom for "no sort"; a string constant sorts nothing."""
    expected = query(server, f"SELECT label, count(*) AS n FROM files.{rows_file} GROUP BY label ORDER BY label")
    grouped = query(server, f"SELECT label, count(*) AS n FROM files.{rows_file} GROUP BY label ORDER BY NULL")
    assert sorted(grouped, key=lambda r: r["label"]) == expected
    ordered = query(server, f"SELECT x FROM files.{rows_file} ORDER BY 'x', x DESC")
    assert [r["x"] for r in ordered] == sorted((r["x"] for r in ordered), reverse=True)
    assert len(ordered) > 1


def test_describe_of_an_empty_name_is_an_incorrect_table_name(server: RunningServer) -> None:
    assert mysql_error(server, "DESCRIBE . ''") == (1103, "Incorrect table name ''")
    assert mysql_error(server, "DESCRIBE ``") == (1103, "Incorrect table name ''")
