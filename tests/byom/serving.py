"""Start the tutorial's classifier under a real `mlflow models serve` process.

`serve_mlflow_model` is a plain function so bench/ can use it too; `mlflow_server` is the pytest
session fixture that trains the model into a temp dir and serves it on a free port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.byom.mlflow_model import save_tweet_model
from tests.conftest import free_port

STARTUP_TIMEOUT_S = 60.0


@dataclass
class MlflowServer:
    """A running `mlflow models serve` process group and where to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    model_dir: Path
    log: Path
    startup_s: float  # from launch to the first 200 on /ping

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The scoring endpoint, as MindsDB's `predict_url` names it."""
        return f"{self.base_url}/invocations"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """Stop the whole group: the `mlflow` CLI and the uvicorn it starts."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _serve_env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # The CLI runs `uvicorn` through bash, so the venv's bin must come first on PATH.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _answers_ping(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/ping", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def serve_mlflow_model(model_dir: Path, port: int, log: Path | None = None,
                       timeout: float = STARTUP_TIMEOUT_S) -> MlflowServer:
    """Run `mlflow models serve --env-manager local` on 127.0.0.1:`port`; return once /ping answers.

    Raises RuntimeError with the server's log tail if it exits or does not answer within `timeout`.
    """
    log = log or model_dir.parent / f"mlflow-serve-{port}.log"
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(mlflow_cli), "models", "serve", "-m", str(model_dir), "--env-manager", "local",
             "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=_serve_env(), start_new_session=True)
    server = MlflowServer(process, port, model_dir, log, startup_s=0.0)
    deadline = started + timeout
    while not _answers_ping(server.base_url):
        if process.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited with {process.returncode}:\n{server.log_tail()}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"mlflow models serve did not answer /ping in {timeout:.0f} s:\n"
                               f"{server.log_tail()}")
        time.sleep(0.1)
    server.startup_s = time.monotonic() - started
    return server


@pytest.fixture(scope="session")
def mlflow_server(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """The tutorial's tweet classifier, trained once and served for the whole session.

    Skips, through `shared_data`, where the shared datasets are absent.
    """
    model_dir = save_tweet_model(tmp_path_factory.mktemp("byom") / "tweet_model")
    server = serve_mlflow_model(model_dir, free_port())
    try:
        yield server
    finally:
        server.stop()
