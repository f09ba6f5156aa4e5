"""Two augurdb servers on one PostgreSQL catalog and one artifact directory: each sees what the
other creates, both train from the one queue, and each serves models the other trained."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.conftest import RunningServer, free_port, start_server
from tests.databases import DatabaseServer, postgres_server  # noqa: F401
from tests.e2e.helpers import query, upload, wait_for_model
from tests.jobs.catalogs import postgres_catalog_url


@pytest.fixture
def catalog_url(postgres_server: DatabaseServer) -> str:  # noqa: F811
    return postgres_catalog_url(postgres_server)


@pytest.fixture
def two_servers(tmp_path: Path, catalog_url: str) -> Iterator[tuple[RunningServer, RunningServer]]:
    shared = ["--catalog", catalog_url, "--artifact-dir", str(tmp_path / "shared")]
    env = {"AUGURDB_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
           "AUGURDB_JOB_LEASE_SECONDS": "3"}
    first = start_server(tmp_path / "a", *shared, env=env)
    second = start_server(tmp_path / "b", *shared, env=env)
    yield first, second
    first.stop()
    second.stop()


def test_two_servers_share_projects_models_integrations_and_the_queue(
        two_servers: tuple[RunningServer, RunningServer], postgres_server: DatabaseServer,  # noqa: F811
        catalog_url: str, shared_data: Path) -> None:
    first, second = two_servers
    upload(first, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
    query(first, "CREATE PROJECT shop")
    params = postgres_server.parameters()
    query(first, "CREATE DATABASE pgsource WITH ENGINE = 'postgres', PARAMETERS = {"
                 + ", ".join(f"'{k}': {v!r}" for k, v in params.items()) + "}")
    assert "shop" in {r["Database"] for r in query(second, "SHOW DATABASES")}
    assert "pgsource" in {r["Database"] for r in query(second, "SHOW DATABASES")}
    assert query(second, "SELECT count(*) AS n FROM files.rentals") == [{"n": 5037}]

    names = [f"shop.m{i}" for i in range(4)]
    for name in names:
        query(first, f"CREATE MODEL {name} FROM files (SELECT sqft, location, rental_price FROM rentals LIMIT 1500) "
                     "PREDICT rental_price "
                     "USING time_budget = 2, mixers = ['Linear']")
    for name in names:
        model = wait_for_model(second, name.split(".")[1], project="shop", timeout=240)
        assert model["STATUS"] == "complete", model["ERROR"]
    with psycopg.connect(catalog_url) as con:
        trained_by = {row[0].rsplit(":", 1)[1] for row in con.execute("SELECT trained_by FROM models")}
        assert con.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
    # Both servers took runs from the one queue (each runs one at a time, and each run takes seconds).
    assert trained_by == {str(first.process.pid), str(second.process.pid)}
    rows = query(first, "SELECT name, status FROM shop.models ORDER BY name")
    assert [(r["NAME"], r["STATUS"]) for r in rows] == [(n.split(".")[1], "complete") for n in names]
    for server in (first, second):  # each serves every model, whichever server trained it
        for name in names:
            answer = query(server, f"SELECT rental_price FROM {name} WHERE sqft = 800 AND location = 'good'")
            assert answer and answer[0]["rental_price"] > 0


@pytest.mark.parametrize("command", [["sql", "SELECT 1"], ["serve", "--mysql-port", "0", "--http-port", "0"]])
def test_a_catalog_that_cannot_be_reached_is_one_line_without_its_password(tmp_path: Path, command: list[str]) -> None:
    url = f"postgresql://augur:hunter2secret@127.0.0.1:{free_port()}/catalog"
    done = subprocess.run([sys.executable, "-m", "augurdb.cli", *command, "--data-dir", str(tmp_path / "d"),
                           "--catalog", url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Cannot open the catalog at postgresql://augur:******@127.0.0.1" in done.stderr
    assert "hunter2secret" not in done.stderr + done.stdout and "Traceback" not in done.stderr
