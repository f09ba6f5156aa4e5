"""Fixtures shared by the suite: the shared datasets and a real `augurdb serve` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; tests that need it skip only when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    data_dir: Path
    mysql_port: int
    http_port: int
    log: Path
    user: str = "augur"
    password: str = ""

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None,
                 timeout: float = 20, launcher: tuple[str, ...] = ()) -> RunningServer:
    """Start `augurdb serve` on free ports and wait until both ports accept connections.
    `launcher` goes before the command (e.g. a stand-in for a container's init)."""
    mysql_port, http_port = free_port(), free_port()
    log = data_dir.parent / f"server-{mysql_port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [*launcher, sys.executable, "-m", "augurdb.cli", "serve", "--data-dir", str(data_dir),
         "--mysql-port", str(mysql_port), "--http-port", str(http_port), *extra],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    for port in (mysql_port, http_port):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.05)
    return RunningServer(process, data_dir, mysql_port, http_port, log)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server process for the end-to-end tests."""
    running = start_server(tmp_path_factory.mktemp("server") / "data")
    yield running
    running.stop()
