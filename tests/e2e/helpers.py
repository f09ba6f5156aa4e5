"""Small helpers for end-to-end tests: SQL over pymysql, uploads over HTTP, waiting for training."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pymysql
from tests.conftest import RunningServer


def mysql(server: RunningServer, database: str | None = "mindsdb") -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=server.mysql_port, user=server.user,
                           password=server.password, database=database, autocommit=True)


def query(server: RunningServer, sql: str) -> list[dict[str, Any]]:
    with mysql(server) as con, con.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def upload(server: RunningServer, name: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        response = httpx.put(f"{server.http}/api/files/{name}", files={"file": (path.name, f)}, timeout=120)
    response.raise_for_status()
    return response.json()


def wait_for_model(server: RunningServer, name: str, project: str = "mindsdb", timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        rows = query(server, f"SELECT * FROM {project}.models WHERE name = '{name}' ORDER BY version DESC")
        if rows and rows[0]["STATUS"] in ("complete", "error"):
            return rows[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"model {name} still {rows[0]['STATUS'] if rows else 'missing'}")
        time.sleep(0.25)


def assert_complete(model: dict) -> dict:
    """The row of a model that must have trained; a failure shows why it did not."""
    assert model["STATUS"] == "complete", f"{model['NAME']} is {model['STATUS']}: {model['ERROR']}"
    return model
