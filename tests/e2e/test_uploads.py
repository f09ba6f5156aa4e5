"""Uploads as a new user makes them: spreadsheet encodings, empty and broken files, a name in use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import RunningServer
from tests.e2e.helpers import assert_complete, query, upload, wait_for_model

import augurdb


def put(server: RunningServer, name: str, data: bytes, filename: str = "data.csv",
        **form: str) -> httpx.Response:
    return httpx.put(f"{server.http}/api/files/{name}", files={"file": (filename, data)}, data=form, timeout=60)


def error_of(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["type"] == "error"
    return response.status_code, body["error_code"], body["error_message"]


def file_names(server: RunningServer) -> set[str]:
    return {f["name"] for f in httpx.get(f"{server.http}/api/files").json()}


@pytest.mark.parametrize(("encoding", "names"), [("latin-1", ["café", "naïve"]), ("cp1252", ["€5", "“q”"])])
def test_windows_encodings_are_read_as_such(server: RunningServer, encoding: str, names: list[str]) -> None:
    table = f"enc_{encoding.replace('-', '')}"
    text = "id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names))
    assert put(server, table, text.encode(encoding)).status_code == 200
    assert [r["name"] for r in query(server, f"SELECT name FROM files.{table} ORDER BY id")] == names


@pytest.mark.parametrize(("data", "reason"), [
    (b"id,name\n1,ok\n2,\x81x\n", "line 3 has byte 0x81, which is text neither in UTF-8 nor in Windows-1252 (cp1252)"),
    (b"", "the file is empty (0 bytes)"),
    (b"id,name\n", "it has no rows below its header (id, name)"),
    (b"a,b\n1,2\n3,4,5\n6,7\n", "line 3 has 3 fields where the header has 2"),
    (("a,b\n" + "".join(f"{i},x{i}\n" for i in range(3000)) + "1,2,3\n").encode(),
     "line 3002: Expected Number of Columns: 2 Found: 3"),
])
def test_unreadable_files_are_refused_in_one_line(server: RunningServer, data: bytes, reason: str) -> None:
    status, code, message = error_of(put(server, "broken", data, filename="broken.csv"))
    assert (status, code) == (400, 1210)
    assert message.startswith(f"Could not load broken.csv as files.broken: {reason}")
    assert "\n" not in message and "CSV Error" not in message and "Possible" not in message
    assert "broken" not in file_names(server)


def test_a_name_in_use_needs_replace(server: RunningServer) -> None:
    assert put(server, "taken", b"v\n1\n").status_code == 200
    status, code, message = error_of(put(server, "taken", b"v\n2\n"))
    assert (status, code) == (409, 1050) and "files.taken" in message and "replace" in message
    assert query(server, "SELECT v FROM files.taken") == [{"v": 1}]  # the old file is kept
    assert put(server, "taken", b"v\n3\n", replace="true").status_code == 200
    assert query(server, "SELECT v FROM files.taken") == [{"v": 3}]
    raw = httpx.put(f"{server.http}/api/files/taken?replace=true&format=csv", content=b"v\n4\n", timeout=60)
    assert raw.status_code == 200
    assert query(server, "SELECT v FROM files.taken") == [{"v": 4}]


def test_a_model_keeps_its_rows_when_its_file_is_replaced(server: RunningServer, shared_data: Path,
                                                         tmp_path: Path) -> None:
    rentals = (shared_data / "home_rentals" / "home_rentals.csv").read_text().splitlines()
    (tmp_path / "train.csv").write_text("\n".join(rentals[:301]) + "\n")
    upload(server, "replaced_rentals", tmp_path / "train.csv")
    query(server, "CREATE MODEL replaced_m FROM files (SELECT sqft, location, rental_price FROM replaced_rentals) "
                  "PREDICT rental_price USING time_budget = 2, mixers = ['Linear']")
    assert_complete(wait_for_model(server, "replaced_m"))
    predict = "SELECT rental_price FROM mindsdb.replaced_m WHERE sqft = 700 AND location = 'good'"
    before = query(server, predict)
    assert put(server, "replaced_rentals", b"other\nx\n", replace="true").status_code == 200
    assert query(server, "SELECT * FROM files.replaced_rentals") == [{"other": "x"}]
    assert query(server, predict) == before
    assert_complete(wait_for_model(server, "replaced_m"))


def test_load_command_refuses_a_name_in_use_unless_replace(tmp_path: Path) -> None:
    data = str(tmp_path / "data")

    def load(text: bytes, *flags: str) -> subprocess.CompletedProcess[str]:
        source = tmp_path / "prices.csv"
        source.write_bytes(text)
        return subprocess.run([sys.executable, "-m", "augurdb.cli", "load", str(source), "--data-dir", data, *flags],
                              capture_output=True, text=True, timeout=120)

    assert load("item,price\ncafé,2\n".encode("latin-1")).returncode == 0
    taken = load(b"item,price\ntea,1\n")
    assert taken.returncode == 1 and "ERROR 1050" in taken.stderr and "--replace" in taken.stderr
    assert load(b"item,price\ntea,1\n", "--replace").returncode == 0
    empty = load(b"", "--replace")
    assert empty.returncode == 1 and "ERROR 1210" in empty.stderr and "empty (0 bytes)" in empty.stderr
    assert "Traceback" not in taken.stderr + empty.stderr
    with augurdb.connect(data) as con:
        assert con.execute("SELECT item, price FROM files.prices").fetchall() == [("tea", 1)]
