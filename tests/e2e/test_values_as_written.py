"""An uploaded file's values come back as the user wrote them, and a model predicts its target in
the target's own spelling: through the real server, over pymysql and the mariadb CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pymysql
import pytest
from tests.conftest import SHARED_DATA, RunningServer, start_server
from tests.e2e.helpers import assert_complete, mysql, query, upload, wait_for_model

QUIRKS = ("code,answer,flag,truth,n,price,day,big\n"
          "01234,yes,Y,true,5,1.50,2020-01-02,12345678901234567890\n"
          "00007,no,N,false,-3,2,2021-12-31,7\n"
          ",,,,,,,\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("values") / "data")
    yield running
    running.stop()


def test_uploaded_values_are_never_changed(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "quirks.csv"
    path.write_text(QUIRKS)
    upload(server, "quirks", path)
    rows = query(server, "SELECT * FROM files.quirks")
    assert rows[:2] == [
        {"code": "01234", "answer": "yes", "flag": "Y", "truth": "true", "n": 5, "price": 1.5,
         "day": pd.Timestamp("2020-01-02").date(), "big": "12345678901234567890"},
        {"code": "00007", "answer": "no", "flag": "N", "truth": "false", "n": -3, "price": 2.0,
         "day": pd.Timestamp("2021-12-31").date(), "big": "7"},
    ]
    assert set(rows[2].values()) == {None}  # empty fields are NULL
    types = {r["Field"]: r["Type"] for r in query(server, "DESCRIBE files.quirks")}
    assert types == {"code": "text", "answer": "text", "flag": "text", "truth": "text", "n": "bigint",
                     "price": "double", "day": "date", "big": "text"}
    mariadb = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(server.mysql_port), "-u", server.user,
                              "--batch", "--skip-column-names", "-e", "SELECT code, answer FROM files.quirks LIMIT 2"],
                             capture_output=True, text=True, timeout=60)
    assert mariadb.stdout.splitlines() == ["01234\tyes", "00007\tno"], mariadb.stderr


def test_a_user_sets_column_types_at_upload(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "typed.csv"
    path.write_text(QUIRKS)
    with path.open("rb") as f:
        answer = httpx.put(f"{server.http}/api/files/typed", files={"file": ("typed.csv", f)},
                           data={"types": "n=text,price=text,code=integer"}, timeout=60)
    assert answer.status_code == 200, answer.text
    rows = query(server, "SELECT code, n, price FROM files.typed LIMIT 2")
    assert rows == [{"code": 1234, "n": "5", "price": "1.50"}, {"code": 7, "n": "-3", "price": "2"}]
    with path.open("rb") as f:
        refused = httpx.put(f"{server.http}/api/files/typed2", files={"file": ("typed.csv", f)},
                            data={"types": "nothing=text"}, timeout=60)
    assert refused.status_code == 400 and "nothing" in refused.json()["error_message"]


def test_a_yes_no_target_is_predicted_as_yes_no(server: RunningServer, tmp_path: Path) -> None:
    bank = pd.read_csv(SHARED_DATA / "bank_marketing" / "bank_marketing.csv", nrows=1500, dtype=str)
    bank.to_csv(tmp_path / "bank.csv", index=False)
    upload(server, "bank", tmp_path / "bank.csv")
    query(server, "CREATE MODEL mindsdb.bank_model FROM files (SELECT * FROM bank) PREDICT y "
                  "USING time_budget = 10, mixers = ['Linear', 'LightGBM']")
    assert_complete(wait_for_model(server, "bank_model"))
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("SELECT t.y AS label, m.y AS predicted FROM files.bank AS t JOIN mindsdb.bank_model AS m "
                    "LIMIT 200")
        assert cur.description[1][1] in (pymysql.constants.FIELD_TYPE.VAR_STRING, pymysql.constants.FIELD_TYPE.BLOB)
        rows = cur.fetchall()
    assert {label for label, _ in rows} == {"yes", "no"}
    assert {predicted for _, predicted in rows} <= {"yes", "no"}
    agree = sum(label == predicted for label, predicted in rows) / len(rows)
    assert agree > 0.8  # the labels a user scores against are the model's own spelling
