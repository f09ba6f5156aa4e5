"""Run tests/byom/ray_app.py — a real Ray Serve application on a local Ray instance — for a test
module, and stop all of Ray's processes after it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import free_port

APP = Path(__file__).with_name("ray_app.py")
STARTUP_TIMEOUT_S = 180.0


@dataclass
class RayServeApp:
    process: subprocess.Popen[str]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/my_model"

    def stop(self) -> None:
        """SIGINT lets the driver shut Serve and Ray down; whatever is left of the group is killed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def start_ray_serve_app(temp_dir: Path, log: Path) -> RayServeApp:
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, str(APP), str(port), str(temp_dir)], stdout=subprocess.PIPE,
                                   stderr=out, text=True, env=env, start_new_session=True)
    app = RayServeApp(process, port)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""  # "ready", or "" if the app died
    if line.strip() != "ready":
        app.stop()
        raise RuntimeError(f"the Ray Serve app did not start:\n{log.read_text(errors='replace')[-3000:]}")
    return app


@pytest.fixture(scope="module")
def ray_serve_app() -> Iterator[RayServeApp]:
    # Ray's socket paths must stay short (a Unix socket path has at most 107 bytes).
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as temp_dir:
        app = start_ray_serve_app(Path(temp_dir), Path(temp_dir) / "app.log")
        yield app
        app.stop()
