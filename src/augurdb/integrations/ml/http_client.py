"""Calling a model over HTTP, for every engine that does (mlflow over REST, http, ray_serve).

One kept-alive connection per thread, retries with backoff (predictions are idempotent), a
circuit that fails fast for a few seconds after an endpoint could not be reached, call
statistics for DESCRIBE, and the helpers that turn Arrow rows into JSON and answers into a column.
"""

from __future__ import annotations

import datetime
import decimal
import http.client
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from augurdb.errors import ModelEndpointError, WrongArguments
from augurdb.executor.types import arrow_type_of_dtype

RETRIES = 2
OPEN_CIRCUIT_S = 5.0


class EndpointError(ModelEndpointError):
    """An endpoint failure; status is None when nothing answered."""

    def __init__(self, message: str, status: int | None):
        super().__init__(message)
        self.status = status


class Endpoint:
    """POSTs to one URL and keeps count of what happened."""

    def __init__(self, url: str, timeout: float, headers: dict[str, str] | None = None, engine: str = "http"):
        self.url, self.timeout, self.engine = url, timeout, engine
        self.headers = dict(headers or {})
        self._parts = urlsplit(url)
        self._local = threading.local()
        self._unreachable_until = 0.0
        self.calls, self.errors, self.seconds = 0, 0, 0.0

    def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        """The status and body of one POST; EndpointError(status=None) when nothing answers."""
        status, answer, _ = self.send("POST", body, content_type)
        return status, answer

    def send(self, method: str, body: bytes, content_type: str) -> tuple[int, bytes, str]:
        """The status, body and content type of one request, retried when nothing answers."""
        if time.monotonic() < self._unreachable_until:
            self.errors += 1
            raise EndpointError(f"[{self.engine}] the model at {self.url} cannot be reached (it did not answer "
                                f"in the last {OPEN_CIRCUIT_S:.0f} s; trying again after that)", None)
        path = (self._parts.path or "/") + (f"?{self._parts.query}" if self._parts.query else "")
        started = time.monotonic()
        try:
            for attempt in range(RETRIES + 1):
                connection = self._connection()
                try:
                    connection.request(method, path, body, {"Content-Type": content_type, **self.headers})
                    response = connection.getresponse()
                    return response.status, response.read(), response.getheader("Content-Type") or ""
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    self._local.connection = None
                    if attempt == RETRIES:
                        self.errors += 1
                        self._unreachable_until = time.monotonic() + OPEN_CIRCUIT_S
                        raise EndpointError(f"[{self.engine}] the model at {self.url} cannot be reached: {error}",
                                            None) from None
                    time.sleep(0.1 * 2 ** attempt)
            raise AssertionError("unreachable")
        finally:
            self.calls += 1
            self.seconds += time.monotonic() - started

    def failed(self, status: int, answer: bytes) -> EndpointError:
        """The error for an answer that is not a success, with the model's own message."""
        self.errors += 1
        return EndpointError(f"[{self.engine}] the model at {self.url} answered HTTP {status}: "
                             f"{error_text(answer)}", status)

    def statistics(self) -> dict[str, Any]:
        return {"calls": self.calls, "errors": self.errors,
                "mean_latency_ms": round(1000 * self.seconds / self.calls, 2) if self.calls else None}

    def _connection(self) -> http.client.HTTPConnection:
        """One kept-alive connection per thread (a server may close it after an error; we reopen)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
            connection = kind(self._parts.hostname or "localhost", self._parts.port, timeout=self.timeout)
            self._local.connection = connection
        return connection


def positive_option(options: dict[str, Any], key: str, default: Any, kind: type, engine: str) -> Any:
    """A USING number that must be above zero; error 1210 naming it otherwise."""
    value = options.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise WrongArguments(f"[{engine}] {key} must be a positive number, got {value!r}")
    return number


def in_batches(data: pa.Table, size: int, in_flight: int, call: Callable[[pa.Table], list[Any]]) -> list[Any]:
    """`call` over batches of `size` rows, `in_flight` at once, the results in row order."""
    batches = [data.slice(start, size) for start in range(0, data.num_rows, size)] or [data]
    if len(batches) == 1 or in_flight == 1:
        return [v for batch in batches for v in call(batch)]
    with ThreadPoolExecutor(max_workers=min(in_flight, len(batches))) as pool:
        return [v for part in pool.map(call, batches) for v in part]


def json_records(rows: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as ISO text (not epoch milliseconds), decimals as numbers."""
    return [{k: json_value(v) for k, v in row.items()} for row in rows.to_pylist()]


def json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def pick_target(values: list[Any], target: str) -> list[Any]:
    """Each prediction's target value: rows may be scalars or dicts of columns."""
    return [pick(v, target) if isinstance(v, dict) else v for v in values]


def pick(value: dict[str, Any], target: str) -> Any:
    by_lower = {k.lower(): v for k, v in value.items()}
    if target.lower() in by_lower:
        return by_lower[target.lower()]
    if len(value) == 1:
        return next(iter(value.values()))
    raise ModelEndpointError(f"the answer has columns {', '.join(value)} but none named {target}")


def column_of_predictions(values: list[Any], kind: str) -> pa.Array:
    """The predictions with the model's own value types (0/1 stay integers); numbers as the
    target's declared type when it is numeric."""
    arrow = arrow_type_of_dtype(kind)
    if pa.types.is_floating(arrow) or pa.types.is_integer(arrow):
        try:
            return pa.array(values, arrow)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return pa.array(values)


def error_text(answer: bytes) -> str:
    """A model's error answer in one line: its JSON `message` when it has one."""
    try:
        body = json.loads(answer)
    except ValueError:
        return " ".join(answer[:300].decode("utf-8", "replace").split())
    text = str(body["message"]) if isinstance(body, dict) and "message" in body else str(body)
    return " ".join(text.split())[:300]
