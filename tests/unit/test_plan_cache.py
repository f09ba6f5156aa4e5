"""Prepared plans for one-row predictions: a statement of a known shape runs its kept plan with its
own values, and answers exactly what planning it again answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlglot import exp

import augurdb
from augurdb.executor.plan_cache import statement_shape
from augurdb.sql.parser import literal_value, parse


class Scorer(BaseHTTPRequestHandler):
    """POST [{"text": ..., "n": ...}, ...] -> [f"{text}|{n}", ...]: the answer shows the inputs it got."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = json.dumps([f"{r['text']}|{r['n']}" for r in rows]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def scorer() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scorer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/score"
    httpd.shutdown()


@pytest.fixture
def con(tmp_path: Path, scorer: str) -> Iterator[augurdb.Connection]:
    connection = augurdb.connect(tmp_path / "data")
    connection.cursor().execute(
        f"CREATE MODEL mindsdb.echo PREDICT answer USING engine = 'http', url = '{scorer}', "
        "dtype_dict = {\"text\": \"text\", \"n\": \"float\", \"answer\": \"text\"}")
    yield connection
    connection.close()


def _answer(con: augurdb.Connection, sql: str) -> list[tuple]:
    cur = con.cursor()
    cur.execute(sql)
    return list(cur.fetchall())


def test_a_known_shape_runs_its_plan_with_its_own_values(con: augurdb.Connection) -> None:
    cache = con.instance.plan_cache
    statements = [f"SELECT answer FROM mindsdb.echo WHERE text = '{text}' AND n = {n}"
                  for text, n in [("a", 1), ("it''s", 2.5), ("b", 1e3), ("", 7), ("12", 0)]]
    answers = [_answer(con, sql) for sql in statements]
    assert answers == [[("a|1.0",)], [("it's|2.5",)], [("b|1000.0",)], [("|7.0",)], [("12|0.0",)]]
    assert cache.hits == len(statements) - 1  # the first one planned the shape
    cache.clear()
    assert [_answer(con, sql) for sql in reversed(statements)] == list(reversed(answers))


def test_shapes_it_cannot_prove_take_the_ordinary_path(con: augurdb.Connection) -> None:
    cache = con.instance.plan_cache
    for sql, expected in [
        ("SELECT answer FROM mindsdb.echo WHERE text = 'a' AND n = -2", [("a|-2.0",)]),  # a sign
        ("SELECT answer FROM mindsdb.echo WHERE text = 'a' AND n = 2 LIMIT 1", [("a|2.0",)]),
        ("SELECT answer, 5 AS five FROM mindsdb.echo WHERE text = 'a' AND n = 2", [("a|2.0", 5)]),
        ("SELECT answer FROM mindsdb.echo WHERE text = 'a\\'b' AND n = 2", [("a'b|2.0",)]),  # a backslash
        ("SELECT answer FROM mindsdb.echo WHERE 1 = 0", []),
    ]:
        for _ in range(2):
            assert _answer(con, sql) == expected, sql
    assert cache.hits == 0


def test_a_model_made_again_under_its_name_is_planned_again(con: augurdb.Connection, scorer: str) -> None:
    sql = "SELECT answer FROM mindsdb.echo WHERE text = 'x' AND n = 3"
    assert _answer(con, sql) == _answer(con, sql) == [("x|3.0",)]
    cur = con.cursor()
    cur.execute(f"CREATE OR REPLACE MODEL mindsdb.echo PREDICT answer USING engine = 'http', url = '{scorer}', "
                "dtype_dict = {\"text\": \"text\", \"n\": \"integer\", \"answer\": \"text\"}")
    assert _answer(con, sql) == [("x|3",)]  # n is an integer input now


@pytest.mark.parametrize("sql", [
    "SELECT a FROM m WHERE x = 1 AND y = 'two' AND z = 3.5 AND w = 1e-3 AND v = .5 AND u = 'it''s'",
    "select `col 1`, b FROM `m 2` WHERE `x 3` = 4 AND t1.c = '5'",
    "SELECT a FROM m WHERE x = 12345678901234567890 AND y = '' AND z = 0.0",
    "SELECT a FROM m WHERE x = 99999999999999999999999999999999 AND y = -9223372036854775809",
])
def test_literal_values_are_read_as_the_parser_reads_them(sql: str) -> None:
    shape = statement_shape(sql)
    assert shape is not None
    parsed = [literal_value(node) for node in parse(sql)[0].find_all(exp.Literal, bfs=False)]
    assert shape[1] == parsed
    if "`col 1`" in sql:
        assert "`col 1`" in shape[0] and "`x 3`" in shape[0]  # names keep their digits


@pytest.mark.parametrize("sql", [
    "SELECT a FROM m WHERE x = 'a\\nb'", "SELECT a FROM m WHERE x = 1 -- c", "SELECT a FROM m WHERE x = \"q\"",
    "SELECT 1; SELECT 2", "SELECT a FROM m WHERE x = ?", "INSERT INTO t VALUES (1)", "/* c */ SELECT 1",
])
def test_statements_the_shape_reader_leaves_alone(sql: str) -> None:
    assert statement_shape(sql) is None
