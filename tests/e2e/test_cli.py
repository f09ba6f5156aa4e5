"""The `augurdb` command as a new user runs it: training from `augurdb sql`, a port already taken."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import free_port


def augurdb(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "augurdb.cli", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_create_model_from_sql_command_trains_to_the_end(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    csv = tmp_path / "line.csv"
    csv.write_text("x,y\n" + "".join(f"{i % 17},{3 * (i % 17) + 1}\n" for i in range(60)))
    assert augurdb("load", str(csv), "--data-dir", data).returncode == 0
    created = augurdb("sql", "CREATE MODEL line FROM files (SELECT * FROM line) PREDICT y "
                             "USING time_budget = 2, mixers = ['Linear']", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    assert "waiting for mindsdb.line (version 1) to train" in created.stderr
    assert "mindsdb.line (version 1): complete" in created.stderr
    after = augurdb("sql", "SELECT status FROM mindsdb.models WHERE name = 'line'", "--data-dir", data)
    assert after.stdout.split() == ["STATUS", "complete"]
    predicted = augurdb("sql", "SELECT y FROM mindsdb.line WHERE x = 10", "--data-dir", data)
    assert predicted.stdout.split()[0] == "y" and abs(float(predicted.stdout.split()[1]) - 31) < 2


def test_create_model_from_sql_command_shows_progress(tmp_path: Path) -> None:
    """The command says which phase the worker is in while it waits: the mixer here takes 3 s to
    set up inside ModelTrainer (tests/automl/slow_start.py)."""
    data = str(tmp_path / "data")
    csv = tmp_path / "line.csv"
    csv.write_text("x,y\n" + "".join(f"{i % 17},{3 * (i % 17) + 1}\n" for i in range(60)))
    assert augurdb("load", str(csv), "--data-dir", data).returncode == 0
    created = augurdb("sql", "CREATE MODEL line FROM files (SELECT * FROM line) PREDICT y USING time_budget = 6, "
                             "mixers = ['tests.automl.slow_start:SlowStartMixer']", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    assert "mindsdb.line (version 1): training, phase 5/6 ModelTrainer" in created.stderr, created.stderr
    assert created.stderr.rstrip().endswith("mindsdb.line (version 1): complete")


@pytest.mark.parametrize("busy", ["--mysql-port", "--http-port"])
def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path, busy: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--mysql-port": str(free_port()), "--http-port": str(free_port()), busy: str(port)}
        served = augurdb("serve", "--data-dir", str(tmp_path / "data"), *[x for kv in ports.items() for x in kv],
                         timeout=60)
    assert served.returncode == 1
    lines = [line for line in served.stderr.splitlines() if line.strip()]
    assert lines == [(f"augurdb: cannot listen on 127.0.0.1:{port} for {'MySQL' if 'mysql' in busy else 'HTTP'}: "
                         f"the port is in use (another augurdb or MySQL server?); choose another port with {busy}")]
    assert "Traceback" not in served.stderr + served.stdout
