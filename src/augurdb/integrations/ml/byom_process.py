"""The server's side of the BYOM runner protocol (byom_runner.py): a runner process started with
an engine version's Python, requests to it, and its failures as errors the SQL client reads whole."""

from __future__ import annotations

import subprocess
import threading
import weakref
from pathlib import Path
from typing import Any

import pyarrow as pa

from augurdb.errors import ModelCodeError
from augurdb.integrations.ml import byom_runner as wire

RUNNER = Path(__file__).with_name("byom_runner.py")
LOG_TAIL_LINES = 15
_DOING = {"check": "loading the code", "load": "loading the trained model"}


class RunnerProcess:
    """One runner process: started at the first call (then sent `setup`, e.g. loading the model),
    kept for the next calls, and started afresh after it died."""

    def __init__(self, python: str, workdir: Path, log: Path, label: str, setup: dict[str, Any] | None = None):
        self.python, self.workdir, self.log, self.label, self.setup = python, workdir, log, label, setup
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()

    def call(self, header: dict[str, Any], rows: pa.Table | None = None, timeout: float | None = None) -> bytes:
        """The answer's payload. ModelCodeError carries the user's traceback when their code raised,
        and says so when the runner ended or did not answer within `timeout` seconds."""
        with self._lock:
            return self._exchange(self._running(), header, rows, timeout)

    def close(self) -> None:
        """Stop the runner (the ModelCache calls this when it lets the model go)."""
        with self._lock:
            self._stop()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        with self.log.open("wb") as log:
            process = subprocess.Popen([self.python, "-P", str(RUNNER)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=log, cwd=self.workdir)
        self._process = process
        # A model dropped from memory without close() must not leave its runner behind.
        self._finalizer = weakref.finalize(self, _kill, process)
        if self.setup is not None:
            try:
                self._exchange(process, self.setup, None, None)
            except ModelCodeError:
                self._stop()
                raise
        return process

    def _exchange(self, process: subprocess.Popen[bytes], header: dict[str, Any], rows: pa.Table | None,
                  timeout: float | None) -> bytes:
        assert process.stdin is not None and process.stdout is not None
        doing = _DOING.get(header["method"], header["method"])
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, expire) if timeout else None
        if timer is not None:
            timer.start()
        try:
            wire.write_request(process.stdin, header, rows)
            answer = wire.read_frame(process.stdout)
        except OSError:  # the runner is gone: its stdin is a broken pipe
            answer = None
        finally:
            if timer is not None:
                timer.cancel()
        if answer is None:
            self._stop()
            if timed_out.is_set():
                raise ModelCodeError(f"[byom] {self.label}: {doing} did not answer within {timeout:.0f} s")
            raise ModelCodeError(f"[byom] the process running {self.label} ended unexpectedly during "
                                 f"{doing} (exit code {process.returncode}){self._log_tail()}")
        if answer[:1] != wire.OK:
            raise ModelCodeError(f"[byom] {self.label}: {doing} raised:\n"
                                 f"{answer[1:].decode('utf-8', 'replace')}")
        return answer[1:]

    def _stop(self) -> None:
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        elif process is not None:
            _kill(process)

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            return ""
        return ("; its last output:\n" + "\n".join(lines)) if lines else ""


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()
