"""The `byom` engine through the real server: Python code uploaded over HTTP (and with the CLI)
trains on home_rentals and predicts, in runner processes, exactly as the same class does when
run here; versions, a virtualenv built offline from a wheel made here, and the user's errors."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pymysql
import pytest
from tests.conftest import RunningServer, start_server
from tests.e2e.helpers import mysql, query, upload, wait_for_model

RENT_CODE = '''
import json

import pandas as pd

VERSION = {version}


class RentModel:
    """Mean rent per location plus a rent per room; a bias from USING at train, a scale at predict."""

    def train(self, df, target_col, args=None):
        self.target = target_col
        self.args = args
        self.bias = float(args["using"].get("bias", 0))
        self.by_location = df.groupby("location")[target_col].mean().to_dict()
        self.per_room = float(df[target_col].mean() / (df["number_of_rooms"].mean() + 1))
        self.columns = []

    def predict(self, df, args=None):
        self.columns = list(df.columns)
        scale = float((args or {{}}).get("scale", 1))
        rent = df["location"].map(self.by_location) + self.per_room * df["number_of_rooms"] + self.bias
        return pd.DataFrame({{self.target: rent * scale * VERSION}})

    def describe(self, attribute=None):
        if attribute == "args":
            return pd.DataFrame([{{"target": self.args["target"],
                                   "using": json.dumps(self.args["using"], sort_keys=True)}}])
        if attribute == "columns":
            return pd.DataFrame({{"column": self.columns}})
        return pd.DataFrame({{"tables": ["args", "columns"]}})
'''

FRAGILE_CODE = '''
import os

import pandas as pd


class Fragile:
    def train(self, df, target_col, args=None):
        if args["using"].get("fail"):
            raise ValueError("cannot learn from these rows")
        self.target = target_col

    def predict(self, df, args=None):
        if (df["location"] == "poor").any():
            raise KeyError("no rents for poor locations")
        if (df["number_of_rooms"] == 99).any():
            os._exit(3)
        return pd.DataFrame({self.target: df["number_of_rooms"] * 100.0})
'''

TINY_CODE = '''
import augur_tiny
import pandas as pd


class Doubler:
    def train(self, df, target_col, args=None):
        self.target = target_col

    def predict(self, df, args=None):
        return pd.DataFrame({self.target: [augur_tiny.double(float(x)) for x in df["number_of_rooms"]]})

    def describe(self, attribute=None):
        return pd.DataFrame({"module": [augur_tiny.__file__]})
'''

TRAINING_QUERY = "FROM files (SELECT number_of_rooms, location, rental_price FROM rentals) PREDICT rental_price"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of the package augur-tiny 0.1 (`augur_tiny.double`), built here with setuptools."""
    source = tmp_path_factory.mktemp("augur_tiny")
    (source / "augur_tiny").mkdir()
    (source / "augur_tiny" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (source / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\nbuild-backend = '
                                           '"setuptools.build_meta"\n[project]\nname = "augur-tiny"\nversion = "0.1"\n')
    wheels = tmp_path_factory.mktemp("wheels")
    build = f"from setuptools.build_meta import build_wheel; build_wheel({str(wheels)!r})"
    subprocess.run([sys.executable, "-c", build], cwd=source, check=True, capture_output=True)
    return wheels


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, wheels: Path) -> Iterator[RunningServer]:
    """A server whose pip is offline, finding packages only among the wheels made here."""
    running = start_server(tmp_path_factory.mktemp("byom_code") / "data",
                           env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)})
    upload(running, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def rentals(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "home_rentals" / "home_rentals.csv")[["number_of_rooms", "location",
                                                                           "rental_price"]]


def _upload_code(server: RunningServer, name: str, code: str, method: str = "PUT", requirements: str | None = None,
                 **fields: str) -> httpx.Response:
    files: dict[str, Any] = {"code": ("model.py", code.encode())}
    if requirements is not None:
        files["modules"] = ("requirements.txt", requirements.encode())
    return httpx.request(method, f"{server.http}/api/handlers/byom/{name}", files=files, data=fields, timeout=120)


def _local(code: str, rows: pd.DataFrame, using: dict[str, Any]) -> Any:
    """The uploaded class, trained here the way the server trains it."""
    namespace: dict[str, Any] = {}
    exec(compile(code, "model.py", "exec"), namespace)
    model = namespace["RentModel"]()
    model.train(rows.copy(), "rental_price", {"target": "rental_price", "using": using})
    return model


def _trained(server: RunningServer, name: str, using: str) -> dict[str, Any]:
    query(server, f"CREATE MODEL mindsdb.{name} {TRAINING_QUERY} USING {using}")
    return wait_for_model(server, name, timeout=120)


def _failing(server: RunningServer, sql: str) -> tuple[int, str]:
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as failed:
        cur.execute(sql)
    return failed.value.args[0], failed.value.args[1]


def _engine(server: RunningServer, name: str) -> dict[str, Any]:
    rows = query(server, f"SELECT * FROM information_schema.ml_engines WHERE name = '{name}'")
    assert [r["HANDLER"] for r in rows] == ["byom"]
    return dict(json.loads(rows[0]["CONNECTION_DATA"]))


def test_uploaded_code_trains_and_predicts_as_it_does_here(server: RunningServer, rentals: pd.DataFrame) -> None:
    code = RENT_CODE.format(version=1)
    answer = _upload_code(server, "rent_code", code, type="inhouse")
    assert answer.status_code == 200, answer.text
    assert answer.json()["engine_versions"] == [1]
    assert _engine(server, "rent_code")["versions"]["1"]["status"] == "ready"
    model = _trained(server, "rent", "engine = 'rent_code', bias = 7")
    assert model["STATUS"] == "complete", model["ERROR"]
    local = _local(code, rentals, {"bias": 7})

    one = query(server, "SELECT rental_price FROM mindsdb.rent WHERE location = 'great' AND number_of_rooms = 2")
    expected = local.predict(pd.DataFrame({"number_of_rooms": [2], "location": ["great"]}))
    assert one == [{"rental_price": pytest.approx(expected["rental_price"][0])}]
    scaled = query(server, "SELECT rental_price FROM mindsdb.rent WHERE location = 'good' AND number_of_rooms = 1 "
                           "USING scale = 3")
    expected = local.predict(pd.DataFrame({"number_of_rooms": [1], "location": ["good"]}), {"scale": 3})
    assert scaled == [{"rental_price": pytest.approx(expected["rental_price"][0])}]

    joined = pd.DataFrame(query(server, "SELECT t.number_of_rooms, t.location, m.rental_price "
                                        "FROM files.rentals AS t JOIN mindsdb.rent AS m"))
    assert len(joined) == len(rentals)
    expected = local.predict(joined[["number_of_rooms", "location"]])
    assert joined["rental_price"].tolist() == pytest.approx(expected["rental_price"].tolist())
    # predict saw the model's input columns only (no row id, no target); train got USING without augurdb's keys
    assert query(server, "DESCRIBE mindsdb.rent.columns") == [{"column": "number_of_rooms"}, {"column": "location"}]
    assert query(server, "DESCRIBE mindsdb.rent.args") == [{"target": "rental_price", "using": '{"bias": 7}'}]


def test_a_new_version_and_engine_version(server: RunningServer, rentals: pd.DataFrame) -> None:
    assert _upload_code(server, "versioned", RENT_CODE.format(version=1), type="inhouse").status_code == 200
    first = _trained(server, "first", "engine = 'versioned'")
    answer = _upload_code(server, "versioned", RENT_CODE.format(version=10), method="POST")
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in ("last_engine_version", "engine_versions")} == \
        {"last_engine_version": 2, "engine_versions": [1, 2]}
    shown = _engine(server, "versioned")
    assert shown["last_version"] == 2 and shown["versions"]["2"]["type"] == "inhouse"  # the last version's type
    latest = _trained(server, "latest", "engine = 'versioned'")
    pinned = _trained(server, "pinned", "engine = 'versioned', engine_version = 1")
    assert [m["STATUS"] for m in (first, latest, pinned)] == ["complete"] * 3
    code, message = _failing(server, f"CREATE MODEL mindsdb.missing {TRAINING_QUERY} "
                                     "USING engine = 'versioned', engine_version = 5")
    assert code == 1210 and "has no version 5; its versions are 1, 2" in message

    where = "WHERE location = 'great' AND number_of_rooms = 2"
    v1 = _local(RENT_CODE.format(version=1), rentals, {}).predict(
        pd.DataFrame({"number_of_rooms": [2], "location": ["great"]}))["rental_price"][0]
    predicted = {name: query(server, f"SELECT rental_price FROM mindsdb.{name} {where}")[0]["rental_price"]
                 for name in ("first", "latest", "pinned")}
    assert predicted == {"first": pytest.approx(v1), "latest": pytest.approx(10 * v1), "pinned": pytest.approx(v1)}
    _, message = _failing(server, f"SELECT rental_price FROM mindsdb.first {where} USING engine_version = 2")
    assert "a model keeps the code it was trained with (version 1)" in message
    # RETRAIN reads the engine again: without engine_version it takes the newest code.
    query(server, "RETRAIN mindsdb.first")
    assert wait_for_model(server, "first")["VERSION"] == 2
    retrained = query(server, f"SELECT rental_price FROM mindsdb.first {where}")[0]["rental_price"]
    assert retrained == pytest.approx(10 * v1)


def test_code_that_cannot_be_a_model_is_refused_at_upload(server: RunningServer) -> None:
    broken = "import pandas\n\nclass M:\n    def train(self, df, target_col, args=None)\n        pass\n"
    refused = _upload_code(server, "broken", broken)
    assert refused.status_code == 400
    assert refused.json()["error_code"] == 1210
    message = refused.json()["error_message"]
    assert "line 4" in message and "def train(self, df, target_col, args=None)" in message

    no_model = _upload_code(server, "no_model", "class Helper:\n    def train(self, df, t, args=None):\n        pass\n")
    assert "no class with both a train and a predict method" in no_model.json()["error_message"]
    failing_import = _upload_code(server, "bad_import", "x = 1\nraise RuntimeError('boom at import')\n", type="inhouse")
    message = failing_import.json()["error_message"]
    assert 'line 2, in <module>' in message and "RuntimeError: boom at import" in message

    options = _upload_code(server, "options", RENT_CODE.format(version=1),
                           requirements="pandas>=2\n-e git+https://x/y\n")
    assert options.status_code == 400 and "requirements.txt line 2" in options.json()["error_message"]
    inhouse = _upload_code(server, "inhouse_pip", RENT_CODE.format(version=1), requirements="pandas\n", type="inhouse")
    assert inhouse.status_code == 400 and "installs nothing" in inhouse.json()["error_message"]

    assert _upload_code(server, "taken", RENT_CODE.format(version=1), type="inhouse").status_code == 200
    again = _upload_code(server, "taken", RENT_CODE.format(version=1), type="inhouse")
    assert again.status_code == 409
    assert again.json()["type"] == "error" and again.json()["error_code"] == 1050
    assert _upload_code(server, "nowhere", RENT_CODE.format(version=1), method="POST").status_code == 404
    refused = {"broken", "no_model", "bad_import", "options", "inhouse_pip"}
    assert [r["NAME"] for r in query(server, "SHOW ML_ENGINES") if r["NAME"] in refused] == []
    _, message = _failing(server, "CREATE ML_ENGINE by_sql FROM byom")
    assert "PUT /api/handlers/byom/<name>" in message


def test_errors_of_the_users_code_reach_the_client_with_its_line(server: RunningServer) -> None:
    assert _upload_code(server, "fragile", FRAGILE_CODE, type="inhouse").status_code == 200
    lines = FRAGILE_CODE.splitlines()
    train_line = lines.index('            raise ValueError("cannot learn from these rows")') + 1
    predict_line = lines.index('            raise KeyError("no rents for poor locations")') + 1

    failed = _trained(server, "unlearned", "engine = 'fragile', fail = 1")
    assert failed["STATUS"] == "error"
    assert f'code.py", line {train_line}, in train' in failed["ERROR"]
    assert "ValueError: cannot learn from these rows" in failed["ERROR"]

    assert _trained(server, "frail", "engine = 'fragile'")["STATUS"] == "complete"
    code, message = _failing(server, "SELECT rental_price FROM mindsdb.frail WHERE location = 'poor' "
                                     "AND number_of_rooms = 1")
    assert code == 1105
    assert f'code.py", line {predict_line}, in predict' in message
    assert "KeyError: 'no rents for poor locations'" in message
    code, message = _failing(server, "SELECT rental_price FROM mindsdb.frail WHERE location = 'good' "
                                     "AND number_of_rooms = 99")
    assert code == 1105 and "ended unexpectedly during predict (exit code 3)" in message
    # the server is up, and the next prediction gets a fresh runner
    assert query(server, "SELECT rental_price FROM mindsdb.frail WHERE location = 'good' AND number_of_rooms = 2") == \
        [{"rental_price": 200.0}]


def _wait_for_environment(server: RunningServer, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        version = _engine(server, name)["versions"]["1"]
        if version["status"] not in ("pending", "installing") or time.monotonic() > deadline:
            return dict(version)
        time.sleep(0.2)


def test_a_venv_engine_installs_its_requirements(server: RunningServer) -> None:
    requirements = "# a package only the wheels here have\naugur-tiny==0.1\npandas  # the server's own\n"
    answer = _upload_code(server, "tiny_env", TINY_CODE, requirements=requirements)
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "venv"
    version = _wait_for_environment(server, "tiny_env")
    assert version["status"] == "ready", version
    assert version["requirements"] == ["augur-tiny==0.1", "pandas"]
    assert _trained(server, "tiny", "engine = 'tiny_env'")["STATUS"] == "complete"
    assert query(server, "SELECT rental_price FROM mindsdb.tiny WHERE location = 'good' AND number_of_rooms = 3") == \
        [{"rental_price": 6.0}]
    module = query(server, "DESCRIBE mindsdb.tiny.anything")[0]["module"]
    assert Path(module).is_relative_to(server.data_dir / "byom" / "tiny_env" / "1" / "venv")
    assert importlib.util.find_spec("augur_tiny") is None  # installed in the virtualenv only


def test_a_pip_failure_is_shown_with_pips_own_words(server: RunningServer) -> None:
    assert _upload_code(server, "absent_env", TINY_CODE, requirements="augur-absent==1.0\n").status_code == 200
    version = _wait_for_environment(server, "absent_env")
    assert version["status"] == "failed"
    assert "No matching distribution found for augur-absent==1.0" in version["error"]
    model = _trained(server, "absent", "engine = 'absent_env'")
    assert model["STATUS"] == "error" and "No matching distribution found for augur-absent==1.0" in model["ERROR"]


def test_cli_upload_and_drop_ml_engine(server: RunningServer, tmp_path: Path) -> None:
    code = tmp_path / "rent.py"
    code.write_text(RENT_CODE.format(version=1))
    command = [sys.executable, "-m", "augurdb.cli", "byom", "upload", "cli_rent", str(code), "--type", "inhouse",
               "--url", server.http]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "ML engine cli_rent version 1 (inhouse): ready" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "ML engine cli_rent version 2 (inhouse): ready; versions [1, 2]" in second.stdout
    code.write_text("class M:\n    def train(self\n")
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "ERROR 1210: [byom] the code does not compile" in refused.stderr

    assert (server.data_dir / "byom" / "cli_rent" / "2" / "code.py").is_file()
    query(server, "DROP ML_ENGINE cli_rent")
    assert not (server.data_dir / "byom" / "cli_rent").exists()
    assert [r["NAME"] for r in query(server, "SHOW ML_ENGINES") if r["NAME"] == "cli_rent"] == []
