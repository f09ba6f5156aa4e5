"""Every HTTP error in the documented shape, JSON lines one row per line, /docs without internet."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from tests.conftest import RunningServer


def assert_error(response: httpx.Response, status: int, code: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "error_code", "error_message", "context"}
    assert body["type"] == "error" and body["error_code"] == code
    for fragment in fragments:
        assert fragment in body["error_message"]


@pytest.mark.parametrize("path", ["/api/sql/query", "/api/projects/mindsdb/models/any/predict"])
def test_a_body_without_json_content_type_says_what_to_send(server: RunningServer, path: str) -> None:
    response = httpx.post(server.http + path, content=b'{"query": "SELECT 1"}', timeout=30)
    assert_error(response, 400, 1210, "JSON object", "Content-Type: application/json", "content type: none")
    form = httpx.post(server.http + path, data={"query": "SELECT 1"}, timeout=30)
    assert_error(form, 400, 1210, "application/x-www-form-urlencoded")


@pytest.mark.parametrize("path", ["/api/sql/query", "/api/projects/mindsdb/models/any/predict"])
def test_a_body_that_is_not_json(server: RunningServer, path: str) -> None:
    response = httpx.post(server.http + path, content=b"SELECT 1", timeout=30,
                          headers={"Content-Type": "application/json"})
    assert_error(response, 400, 1210, "The request body is not valid JSON")


def test_missing_and_mistyped_fields_are_named(server: RunningServer) -> None:
    missing = httpx.post(f"{server.http}/api/sql/query", json={"sql": "SELECT 1"}, timeout=30)
    assert_error(missing, 400, 1210, "'query' is missing")
    wrong = httpx.post(f"{server.http}/api/projects/mindsdb/models/any/predict", json={"data": 5}, timeout=30)
    assert_error(wrong, 400, 1210, "'data")
    text = httpx.post(f"{server.http}/api/projects/mindsdb/models/any/predict", json={"data": "[{oops"}, timeout=30)
    assert_error(text, 400, 1210, "'data' is text that is not JSON")


def test_unknown_routes_methods_and_projects(server: RunningServer) -> None:
    assert_error(httpx.get(f"{server.http}/api/nothing", timeout=30), 404, 1105, "GET /api/nothing")
    assert_error(httpx.delete(f"{server.http}/api/sql/query", timeout=30), 405, 1105, "DELETE /api/sql/query")
    assert_error(httpx.get(f"{server.http}/api/projects/nowhere/models", timeout=30), 404, 1049, "nowhere")
    assert_error(httpx.get(f"{server.http}/api/projects/mindsdb/models/nothing", timeout=30), 404, 1146, "nothing")


def test_jsonlines_is_one_row_per_line(server: RunningServer) -> None:
    response = httpx.post(f"{server.http}/api/sql/query", timeout=30, json={
        "query": "SELECT * FROM (VALUES (1, 'a'), (2, NULL), (3, 'c')) AS t(n, s) ORDER BY n",
        "response_format": "jsonlines"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/jsonlines")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == [{"type": "table", "column_names": ["n", "s"]}, [1, "a"], [2, None], [3, "c"]]


def test_docs_page_needs_no_internet(server: RunningServer) -> None:
    page = httpx.get(f"{server.http}/docs", timeout=30)
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert re.findall(r"https?://", page.text) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3  # the script, the style sheet and the icon
    for asset in assets:
        assert httpx.get(server.http + asset, timeout=30).status_code == 200, asset
    assert httpx.get(f"{server.http}/openapi.json", timeout=30).json()["info"]["title"] == "augurdb"
