"""The generic `http` engine through the real server, against a real HTTP endpoint of our own
(a user's scoring service is any HTTP server; this one runs in the test on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pymysql
import pytest
from tests.conftest import RunningServer, start_server
from tests.e2e.helpers import mysql, query, upload

RECEIVED: list[dict] = []


class Scorer(BaseHTTPRequestHandler):
    """POST {"instances": [{"text": ...}, ...]} -> {"result": {"scores": [len(text) / 2, ...]}}."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RECEIVED.append({"body": body, "auth": self.headers.get("Authorization")})
        texts = [row["text"] for row in body["instances"]]
        if "fail" in texts:
            self._answer(500, {"message": "the scorer cannot score 'fail'"})
        else:
            self._answer(200, {"result": {"scores": [len(t) / 2 for t in texts]}})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def scorer() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scorer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/score"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("http_engine") / "data")
    yield running
    running.stop()


def test_any_json_endpoint_as_a_model(server: RunningServer, scorer: str, tmp_path: Path) -> None:
    query(server, f"""CREATE MODEL mindsdb.scorer PREDICT score USING engine = 'http', url = '{scorer}',
        dtype_dict = {{"text": "text", "score": "float"}}, request_template = '{{"instances": {{{{rows}}}}}}',
        response_path = 'result.scores', headers = {{"Authorization": "Bearer s3cret"}}, batch_size = 2""")
    assert RECEIVED and RECEIVED[-1]["auth"] == "Bearer s3cret"
    assert query(server, "SELECT score FROM mindsdb.scorer WHERE text = 'abcd'") == [{"score": 2.0}]
    csv = tmp_path / "notes.csv"
    csv.write_text("id,text,secret\n1,a,x\n2,abc,y\n3,abcdef,z\n4,ab,w\n5,abcde,v\n")
    upload(server, "notes", csv)
    RECEIVED.clear()
    rows = query(server, "SELECT t.id, m.score FROM files.notes AS t JOIN mindsdb.scorer AS m ORDER BY t.id")
    assert [r["score"] for r in rows] == [0.5, 1.5, 3.0, 1.0, 2.5]
    assert len(RECEIVED) == 3  # batches of 2 rows
    assert all(set(row) == {"text"} for call in RECEIVED for row in call["body"]["instances"])
    shown = query(server, "SELECT training_options FROM mindsdb.models WHERE name = 'scorer'")[0]
    assert "s3cret" not in shown["TRAINING_OPTIONS"]
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as failed:
        cur.execute("SELECT score FROM mindsdb.scorer WHERE text = 'fail'")
    assert "HTTP 500" in failed.value.args[1] and "cannot score 'fail'" in failed.value.args[1]
    assert scorer in failed.value.args[1]


def test_credentials_are_encrypted_at_rest_and_survive_a_restart(scorer: str, tmp_path: Path) -> None:
    """The header's token is in neither the catalog file nor the model's directory, and a
    restarted server still sends it."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        query(server, f"CREATE MODEL mindsdb.guarded PREDICT score USING engine = 'http', url = '{scorer}', "
                      "dtype_dict = {\"text\": \"text\"}, request_template = '{\"instances\": {{rows}}}', "
                      "response_path = 'result.scores', headers = {\"Authorization\": \"Bearer t0ken-at-rest\"}")
    finally:
        server.stop()
    stored = [path for path in data_dir.rglob("*") if path.is_file() and b"t0ken-at-rest" in path.read_bytes()]
    assert stored == []
    server = start_server(data_dir)
    try:
        RECEIVED.clear()
        assert query(server, "SELECT score FROM mindsdb.guarded WHERE text = 'ab'") == [{"score": 1.0}]
        assert RECEIVED[-1]["auth"] == "Bearer t0ken-at-rest"
    finally:
        server.stop()


def test_a_model_input_in_the_where_of_a_join_is_set_and_warned_about(server: RunningServer, scorer: str,
                                                                      tmp_path: Path) -> None:
    """`WHERE m.text = 'abcd'` sets the input for every row (MindsDB's meaning), and SHOW WARNINGS
    says so, since a SQL user expects a filter."""
    query(server, f"""CREATE MODEL mindsdb.warned PREDICT score USING engine = 'http', url = '{scorer}',
        dtype_dict = {{"text": "text", "score": "float"}}, request_template = '{{"instances": {{{{rows}}}}}}',
        response_path = 'result.scores'""")
    csv = tmp_path / "ids.csv"
    csv.write_text("id,text\n1,a\n2,abcdef\n")
    upload(server, "ids", csv)
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("SELECT t.id, m.score FROM files.ids AS t JOIN mindsdb.warned AS m WHERE m.text = 'abcd' "
                    "ORDER BY t.id")
        assert cur.fetchall() == ((1, 2.0), (2, 2.0))
        cur.execute("SHOW WARNINGS")
        (level, code, message), = cur.fetchall()
        assert level == "Warning" and "sets that input of model mindsdb.warned for every row" in message
        cur.execute("SELECT t.id FROM files.ids AS t WHERE t.id = 1")
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == ()


def test_a_wrong_response_path_is_an_error_at_create(server: RunningServer, scorer: str) -> None:
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as wrong:
        cur.execute(f"CREATE MODEL mindsdb.lost PREDICT score USING engine = 'http', url = '{scorer}', "
                    "dtype_dict = {\"text\": \"text\"}, request_template = '{\"instances\": {{rows}}}', "
                    "response_path = 'result.nothing'")
    assert "result.nothing" in wrong.value.args[1]
    assert query(server, "SELECT name FROM mindsdb.models WHERE name = 'lost'") == []
