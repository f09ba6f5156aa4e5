"""MLflow models loaded from a path (`USING engine='mlflow', model_uri='/path/or/file:///...'`).

No server is needed: `mlflow.pyfunc.load_model` runs in a worker process of its own
(pyfunc_worker.py), so the model's code never runs in the server; the worker is started when
the model is first used and kept for the next predictions. A model's exception reaches the
user whole, with the line that raised it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from augurdb.errors import ModelCodeError, WrongArguments
from augurdb.integrations.ml import pyfunc_worker as wire
from augurdb.integrations.ml.base import PredictRequest
from augurdb.integrations.ml.http_client import column_of_predictions, pick_target, positive_option


@dataclass(frozen=True)
class LocalLink:
    """Where the model is and which columns it takes."""

    model_uri: str
    target: str
    inputs: tuple[tuple[str, str], ...]
    target_type: str
    batch_size: int = 10_000


def checked_uri(uri: str) -> str:
    """A local model directory (a path or file:// URI) that holds an MLmodel file."""
    path = Path(urlsplit(uri).path) if uri.startswith("file:") else Path(uri)
    if not (path / "MLmodel").is_file():
        raise WrongArguments(f"[mlflow] no MLflow model at {uri!r}: model_uri names a directory with an MLmodel file")
    return str(path.resolve())


class LocalPyfuncModel:
    """A pyfunc model in its worker process: Arrow rows in, the target column out."""

    def __init__(self, link: LocalLink):
        self.link = link
        self.input_columns = [c for c, _ in link.inputs]
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.calls, self.errors = 0, 0

    def predict(self, request: PredictRequest) -> pa.Table:
        """Batches of batch_size rows (also a predict-time USING option) to the worker."""
        data = request.rows
        size = positive_option(request.options, "batch_size", self.link.batch_size, int, "mlflow")
        values: list[Any] = []
        for start in range(0, max(data.num_rows, 1), size):
            values += pick_target(self._target_of(self.call(data.slice(start, size))).to_pylist(), self.link.target)
        return pa.table({self.link.target: column_of_predictions(values, self.link.target_type)})

    def _target_of(self, answer: pa.Table) -> pa.ChunkedArray:
        """The answer's target column (or its only one); rows of dicts are picked apart after."""
        by_lower = {name.lower(): name for name in answer.column_names}
        name = by_lower.get(self.link.target.lower()) or by_lower.get("prediction") or answer.column_names[0]
        return answer.column(name)

    def describe(self, attribute: str | None) -> pa.Table:
        if attribute is None:
            return pa.table({"tables": ["info"]})
        if attribute != "info":
            raise WrongArguments(f"[mlflow] unknown describe attribute '{attribute}'; valid: ['info']")
        return pa.Table.from_pylist([{"model_uri": self.link.model_uri, "runs_in": "worker process",
                                      "inputs": str(list(self.link.inputs)), "target": self.link.target,
                                      "calls": self.calls, "errors": self.errors}])

    def call(self, rows: pa.Table) -> pa.Table:
        """One request to the worker (started on first use, restarted once if it died)."""
        with self._lock:
            self.calls += 1
            answer: bytes | None = None
            for attempt in (1, 2):
                process = self._worker()
                try:
                    assert process.stdin is not None and process.stdout is not None
                    wire.write_frame(process.stdin, wire.table_bytes(rows))  # type: ignore[arg-type]
                    answer = wire.read_frame(process.stdout)  # type: ignore[arg-type]
                except (BrokenPipeError, OSError):
                    answer = None
                if answer is not None:
                    break
                self.close()
                if attempt == 2:
                    self.errors += 1
                    raise ModelCodeError(f"[mlflow] the worker running {self.link.model_uri} ended unexpectedly")
            assert answer is not None
            if answer[:1] != wire.OK:
                self.errors += 1
                raise ModelCodeError(f"[mlflow] the model {self.link.model_uri} raised:\n"
                                     f"{answer[1:].decode('utf-8', 'replace').strip()}")
            return wire.bytes_table(answer[1:])

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        process = subprocess.Popen([sys.executable, "-m", "augurdb.integrations.ml.pyfunc_worker",
                                    self.link.model_uri],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert process.stdout is not None
        loaded = wire.read_frame(process.stdout)  # type: ignore[arg-type]
        if loaded != wire.OK:
            process.kill()
            detail = loaded[1:].decode("utf-8", "replace").strip() if loaded else "the worker exited"
            raise ModelCodeError(f"[mlflow] loading {self.link.model_uri} failed:\n{detail}")
        self._process = process
        return process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
