"""One training run, on any runner: `python -m augurdb.jobs.worker` (its RunSpec as JSON on stdin)
or a Ray task.

The run renews its lease from the first moment (before the heavy imports), trains into a
staging directory, moves the model into place and writes `complete` or `error`, guarded by
its run id. A run that loses its lease (its model dropped, or requeued after it stalled)
exits at once: someone else may be running it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from augurdb.catalog.store import Catalog
from augurdb.errors import ModelCodeError
from augurdb.jobs.artifacts import ArtifactStore
from augurdb.jobs.queue import JobQueue
from augurdb.jobs.runners import RunSpec

log = logging.getLogger(__name__)

EXIT_LOST_LEASE = 75  # EX_TEMPFAIL: the run is someone else's now


def run(spec: RunSpec, secret_key: str | None = None) -> None:
    catalog = Catalog(spec.catalog, secret_key or os.environ.get("AUGURDB_SECRET_KEY"), Path(spec.secret_dir))
    queue = JobQueue(catalog)
    lease = _Lease(queue, spec)
    lease.start()
    try:
        _train(catalog, queue, spec)
    finally:
        lease.stop()
        catalog.close()


def _train(catalog: Catalog, queue: JobQueue, spec: RunSpec) -> None:
    import pyarrow.parquet as pq

    from augurdb.integrations.ml.registry import get_engine

    claim = spec.claim
    record = catalog.model(claim.model_id)
    if record is None:
        return
    artifacts = ArtifactStore(Path(spec.artifacts))
    artifacts.clear_staging(claim.model_id)
    catalog.update_model(claim.model_id, status="training", training_started_at=time.time(), error=None,
                         worker_pid=os.getpid(), trained_by=spec.owner, phase_name=None)
    data_path = artifacts.training_data(claim.training_data)
    staging = artifacts.staging_dir(claim.model_id, claim.run_id)

    def progress(phase: int, total: int, name: str) -> None:
        catalog.update_model(claim.model_id, current_phase=phase, total_phases=total, phase_name=name)

    try:
        engine = get_engine(record.engine)
        data = pq.read_table(data_path)
        options = dict(record.training_options.get("using", {}))
        result = engine.train(data, record.predict, options, staging, progress)
    except Exception as error:
        log.debug("training %s failed", claim.model_id, exc_info=True)
        if queue.finish(claim, status="error", error=_error_text(error), training_stopped_at=time.time()):
            data_path.unlink(missing_ok=True)
        artifacts.clear_staging(claim.model_id)
        return
    if not queue.holds(claim):
        artifacts.clear_staging(claim.model_id)
        return  # dropped while training, or requeued
    artifacts.publish(staging, claim.model_id)
    finished = queue.finish(
        claim, activate=bool(record.training_options.get("activate", True)), status="complete",
        accuracy=result.accuracy, error=None, input_columns=result.input_columns, dtype_dict=result.dtype_dict,
        model_schema=result.schema.to_json() if result.schema else None,
        training_stopped_at=time.time(), phase_name="complete")
    if finished:
        data_path.unlink(missing_ok=True)


class _Lease:
    """Renews the run's lease every third of its length; exits the process when the run is lost."""

    def __init__(self, queue: JobQueue, spec: RunSpec):
        self._queue, self._spec = queue, spec
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _keep(self) -> None:
        """Renew at once (the claim's first lease is doubled to cover the start; a started worker
        shortens it back, so a run lost early is noticed within one lease), then every third."""
        while True:
            try:
                held = self._queue.renew(self._spec.claim, self._spec.lease_seconds)
            except Exception:  # the catalog is briefly unreachable: try again, the lease has slack
                log.warning("could not renew the lease of model %s", self._spec.claim.model_id, exc_info=True)
                held = True
            if not held and not self._stopped.is_set():
                log.warning("training of model %s stopped: its run %s was dropped or given to another worker",
                            self._spec.claim.model_id, self._spec.claim.run_id)
                os._exit(EXIT_LOST_LEASE)
            if self._stopped.wait(self._spec.lease_seconds / 3):
                return


def _error_text(error: Exception) -> str:
    if isinstance(error, ModelCodeError):  # the user's own traceback already says where
        return error.message
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (raised at: {Path(frames[-1].filename).name}#{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    if "--nice" in sys.argv:  # before any work: the run's threads (LightGBM's, torch's) inherit it
        os.nice(int(sys.argv[sys.argv.index("--nice") + 1]))
    run(RunSpec.from_json(sys.stdin.read()))
