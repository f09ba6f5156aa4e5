"""Training outside the request path: one worker process per training run.

The server validates the statement, runs the source query, writes its rows to a
Parquet file and hands the model id to a worker. The worker updates the catalog as
it goes (training phases, then `complete` or `error`). A monitor thread waits for
each worker, so a crashed worker leaves its model in `error`, never stuck.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from augurdb.catalog.store import Catalog
from augurdb.errors import ModelCodeError

log = logging.getLogger(__name__)


def model_dir(data_dir: Path, model_id: int) -> Path:
    return data_dir / "models" / str(model_id)


def training_data_path(data_dir: Path, model_id: int) -> Path:
    return model_dir(data_dir, model_id) / "training_data.parquet"


class TrainingJobs:
    """Queues training runs and runs at most `workers` of them at once."""

    def __init__(self, data_dir: Path, catalog: Catalog, workers: int = 1):
        self.data_dir = data_dir
        self.catalog = catalog
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._running: dict[int, subprocess.Popen[bytes]] = {}
        self._pending: set[int] = set()  # submitted, and the worker not yet ended
        self._idle = threading.Condition()
        self._threads = [threading.Thread(target=self._run_queue, name=f"training-{i}", daemon=True)
                         for i in range(max(workers, 1))]
        for thread in self._threads:
            thread.start()

    def recover(self) -> None:
        """Fail models whose worker died with a previous server process."""
        for record in self.catalog.models():
            if record.status in ("generating", "training") and not _alive(record.worker_pid):
                self.catalog.update_model(
                    record.id or 0, status="error", training_stopped_at=time.time(),
                    error="Training was interrupted: the server stopped before it finished. Run RETRAIN.")

    def submit(self, model_id: int) -> None:
        with self._idle:
            self._pending.add(model_id)
        self._queue.put(model_id)

    def pending(self) -> list[int]:
        """Models submitted by this process whose training has not ended."""
        with self._idle:
            return sorted(self._pending)

    def join(self) -> None:
        """Block until every submitted training run has ended (its worker exited)."""
        with self._idle:
            self._idle.wait_for(lambda: not self._pending)

    def wait(self, model_id: int, timeout: float | None = None) -> str:
        """Block until the model leaves generating/training; returns its final status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.catalog.model(model_id)
            if record is None or record.status in ("complete", "error"):
                return record.status if record else "deleted"
            if deadline is not None and time.monotonic() > deadline:
                return record.status
            time.sleep(0.1)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for process in list(self._running.values()):
            process.terminate()

    def _run_queue(self) -> None:
        while True:
            model_id = self._queue.get()
            if model_id is None:
                return
            try:
                self._run_one(model_id)
            except Exception:  # the queue thread must survive anything one job does
                log.exception("training job %s failed to run", model_id)
            finally:
                with self._idle:
                    self._pending.discard(model_id)
                    self._idle.notify_all()

    def _run_one(self, model_id: int) -> None:
        if self.catalog.model(model_id) is None:
            return  # dropped while queued
        # A fresh interpreter, not fork: the server's threads and sockets stay out of the worker,
        # and an embedding script is never re-imported (as multiprocessing's spawn would do).
        process = subprocess.Popen([sys.executable, "-m", "augurdb.jobs.worker", str(self.data_dir), str(model_id)],
                                   stdin=subprocess.DEVNULL)
        self._running[model_id] = process
        self.catalog.update_model(model_id, worker_pid=process.pid)
        exit_code = process.wait()
        self._running.pop(model_id, None)
        record = self.catalog.model(model_id)
        if record is not None and record.status not in ("complete", "error"):
            self.catalog.update_model(
                model_id, status="error", training_stopped_at=time.time(),
                error=f"The training process ended unexpectedly (exit code {exit_code})")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def run_worker(data_dir: str, model_id: int) -> None:
    """Entry point of a training worker process."""
    import pyarrow.parquet as pq

    from augurdb.integrations.ml.registry import get_engine

    root = Path(data_dir)
    catalog = Catalog(root / "catalog.sqlite")
    record = catalog.model(model_id)
    if record is None:
        return
    started = time.time()
    catalog.update_model(model_id, status="training", training_started_at=started, worker_pid=os.getpid())
    data_path = training_data_path(root, model_id)

    def progress(phase: int, total: int, name: str) -> None:
        catalog.update_model(model_id, current_phase=phase, total_phases=total, phase_name=name)

    try:
        engine = get_engine(record.engine)
        data = pq.read_table(data_path)
        options = dict(record.training_options.get("using", {}))
        result = engine.train(data, record.predict, options, model_dir(root, model_id), progress)
    except Exception as error:
        log.debug("training %s failed", model_id, exc_info=True)
        catalog.update_model(model_id, status="error", error=_error_text(error),
                             training_stopped_at=time.time())
        return
    finally:
        data_path.unlink(missing_ok=True)
    if catalog.model(model_id) is None:
        return  # dropped while training
    catalog.update_model(model_id, status="complete", accuracy=result.accuracy, error=None,
                         input_columns=result.input_columns, dtype_dict=result.dtype_dict,
                         model_schema=result.schema.to_json() if result.schema else None,
                         training_stopped_at=time.time(), phase_name="complete")
    if record.training_options.get("activate", True):
        catalog.activate_model(model_id)


def _error_text(error: Exception) -> str:
    if isinstance(error, ModelCodeError):  # the user's own traceback already says where
        return error.message
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (raised at: {Path(frames[-1].filename).name}#{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"
