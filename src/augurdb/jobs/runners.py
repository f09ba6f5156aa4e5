"""The `JobRunner` contract: where a claimed training run executes.

A runner starts a run from its `RunSpec` and hands back a `RunHandle` to wait on or cancel.
The run itself (jobs/worker.py) does the same work on every runner: it renews its lease,
reports progress and writes its outcome into the catalog. `LocalRunner` starts one worker
process per run on this machine; `RayRunner` (jobs/ray_runner.py) runs it as a Ray task.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Protocol

from augurdb.jobs.queue import Claim


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to find its run, whichever machine it runs on."""

    catalog: str  # a SQLite path or a postgresql:// URL
    secret_dir: str  # where secret.key is when no secret key is set
    artifacts: str  # the artifact store's root
    owner: str  # the server that claimed the run, shown as the model's trained_by
    lease_seconds: float
    claim: Claim

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        values = json.loads(text)
        return cls(**{**values, "claim": Claim(**values["claim"])})


class RunHandle(Protocol):
    def wait(self) -> str | None:
        """Block until the run ends: None when its worker ended normally, else what went wrong."""

    def cancel(self, grace: float = 10) -> None:
        """Stop the run (DROP MODEL, shutdown, a lost run), forcibly after `grace` seconds;
        wait() then returns."""


class JobRunner(Protocol):
    name: str

    def start(self, spec: RunSpec, secret_key: str | None) -> RunHandle: ...

    def close(self) -> None: ...


class _ProcessHandle:
    def __init__(self, process: subprocess.Popen[bytes]):
        self.process = process

    def wait(self) -> str | None:
        code = self.process.wait()
        if code == 0:
            return None
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def cancel(self, grace: float = 10) -> None:
        if self.process.poll() is not None:
            return
        if grace <= 0:
            self.process.kill()
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()


class LocalRunner:
    """One worker process per run, a fresh interpreter (not fork): the server's threads and sockets
    stay out of it, and an embedding script is never re-imported (as multiprocessing's spawn would)."""

    name = "local"

    def __init__(self, nice: int = 0):
        self.nice = nice  # Settings.training_nice, checked there

    def start(self, spec: RunSpec, secret_key: str | None) -> RunHandle:
        env = dict(os.environ)
        if secret_key:
            env["AUGURDB_SECRET_KEY"] = secret_key
        # The spec goes through stdin, not argv: a catalog URL may carry a password, and any user sees argv.
        command = [sys.executable, "-m", "augurdb.jobs.worker", "--nice", str(self.nice)]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        assert process.stdin is not None
        with process.stdin:
            process.stdin.write(spec.to_json().encode())
        return _ProcessHandle(process)

    def close(self) -> None:
        """Nothing outlives the runs."""
