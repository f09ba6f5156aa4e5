"""Training outside the request path, durable: the queue is in the catalog (jobs/queue.py).

CREATE MODEL stores the training rows in the artifact store and queues the run in the same
transaction as the model. A scheduler thread in each process that owns the queue
(jobs/ownership.py) requeues runs whose lease lapsed and claims queued runs while it has free
slots, starting each on its `JobRunner`. A run whose worker ends without writing an outcome
is failed with what its runner saw; a clean shutdown hands running runs back to the queue,
so the next server resumes them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

from augurdb.catalog.store import Catalog
from augurdb.jobs.artifacts import ArtifactStore
from augurdb.jobs.ownership import Ownership
from augurdb.jobs.queue import Claim, JobQueue
from augurdb.jobs.runners import JobRunner, RunHandle, RunSpec

log = logging.getLogger(__name__)

UNFINISHED = ("generating", "training")
RESUMES_LATER = "queued: the server stopped while it trained; it resumes when a server starts"


class TrainingJobs:
    """Runs at most `workers` training runs of the shared queue at once, from this process."""

    def __init__(self, catalog: Catalog, artifacts: ArtifactStore, runner: JobRunner, ownership: Ownership, *,
                 workers: int = 1, lease_seconds: float = 10.0, max_attempts: int = 2,
                 secret_dir: Path, secret_key: str | None = None, poll_seconds: float = 0.5):
        self.catalog, self.artifacts, self.runner, self.ownership = catalog, artifacts, runner, ownership
        self.queue = JobQueue(catalog)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.workers, self.lease_seconds, self.max_attempts = max(workers, 1), lease_seconds, max_attempts
        self.poll_seconds = min(poll_seconds, lease_seconds / 4)
        self._secret_dir, self._secret_key = secret_dir, secret_key
        self.owns_queue = False
        self._running: dict[str, tuple[Claim, RunHandle]] = {}  # by run id
        self._submitted: set[int] = set()
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._schedule, name="training-scheduler", daemon=True)
        self._thread.start()

    # --- what sessions call ---------------------------------------------------------

    def submit(self, model_id: int) -> None:
        """The run is already queued in the catalog; wake the scheduler to claim it now."""
        with self._changed:
            self._submitted.add(model_id)
        self._wake.set()

    def cancel(self, model_id: int) -> None:
        """Stop a run of a dropped model if it runs here; a run elsewhere notices when it next
        renews its lease (its jobs row went with the model)."""
        with self._changed:
            handles = [handle for claim, handle in self._running.values() if claim.model_id == model_id]
        for handle in handles:
            handle.cancel()

    def pending(self) -> list[int]:
        """Models submitted by this process whose training has not ended."""
        with self._changed:
            submitted = sorted(self._submitted)
        return [m for m in submitted if self._unfinished(m)]

    def join(self) -> None:
        """Block until every run this process submitted has ended, wherever it runs."""
        while self.pending():
            with self._changed:
                self._changed.wait(0.2)

    def wait(self, model_id: int, timeout: float | None = None) -> str:
        """Block until the model leaves generating/training; returns its final status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.catalog.model(model_id)
            if record is None or record.status not in UNFINISHED:
                return record.status if record else "deleted"
            if deadline is not None and time.monotonic() > deadline:
                return record.status
            with self._changed:
                self._changed.wait(0.1)

    def close(self) -> None:
        """Stop claiming, hand the runs still running back to the queue, then stop their workers."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout=30)
        with self._changed:
            running = list(self._running.values())
        for claim, handle in running:
            if self.queue.release(claim, RESUMES_LATER):
                log.info("model %s goes back to the queue: the server is stopping", claim.model_id)
            handle.cancel()
        with self._changed:
            self._changed.wait_for(lambda: not self._running, timeout=30)
        self.ownership.release()
        self.runner.close()

    # --- the scheduler --------------------------------------------------------------

    def _unfinished(self, model_id: int) -> bool:
        record = self.catalog.model(model_id)
        return record is not None and record.status in UNFINISHED

    def _schedule(self) -> None:
        told_not_owner = False
        while not self._closing.is_set():
            try:
                self.owns_queue = self.owns_queue or self.ownership.try_acquire()
                if self.owns_queue:
                    self._reap()
                    self._claim_free_slots()
                elif not told_not_owner:
                    told_not_owner = True
                    log.info("training runs of %s are run by %s; this process leaves them alone",
                             self.catalog.location, self.ownership.holder())
            except Exception:  # e.g. a PostgreSQL catalog briefly down: the next round tries again
                log.warning("the training scheduler could not reach the catalog", exc_info=True)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _reap(self) -> None:
        for model_id, run_id, outcome in self.queue.reap(self.max_attempts, self._has_training_data):
            log.warning("model %s: its training run %s stopped renewing its lease; %s", model_id, run_id, outcome)
            with self._changed:
                lost = self._running.get(run_id)
            if lost is not None:  # a worker of ours that hangs: it frees its slot for the next run
                threading.Thread(target=lost[1].cancel, kwargs={"grace": 0}, daemon=True).start()
        with self._changed:
            self._changed.notify_all()

    def _has_training_data(self, name: str) -> bool:
        return self.artifacts.training_data(name).exists()

    def _claim_free_slots(self) -> None:
        while not self._closing.is_set():
            with self._changed:
                if len(self._running) >= self.workers:
                    return
            claim = self.queue.claim(self.owner, self.lease_seconds)
            if claim is None:
                return
            spec = RunSpec(self.catalog.location, str(self._secret_dir), str(self.artifacts.root), self.owner,
                           self.lease_seconds, claim)
            try:
                handle = self.runner.start(spec, self._secret_key)
            except Exception as error:
                log.exception("could not start the training run of model %s", claim.model_id)
                self.queue.finish(claim, status="error", training_stopped_at=time.time(),
                                  error=f"The training could not start on the {self.runner.name} runner: {error}")
                continue
            with self._changed:
                self._running[claim.run_id] = (claim, handle)
            threading.Thread(target=self._await, args=(claim, handle), name=f"training-{claim.model_id}",
                             daemon=True).start()

    def _await(self, claim: Claim, handle: RunHandle) -> None:
        try:
            problem = handle.wait()
            ended = "without writing its outcome" if problem is None else problem
            # Guarded by the run id: a run that finished, was dropped or was handed back is left alone.
            if self.queue.finish(claim, status="error", training_stopped_at=time.time(),
                                 error=f"The training process ended unexpectedly ({ended})"):
                log.warning("training of model %s ended unexpectedly (%s)", claim.model_id, ended)
        except Exception:
            log.exception("watching the training run of model %s failed", claim.model_id)
        finally:
            with self._changed:
                self._running.pop(claim.run_id, None)
                self._changed.notify_all()
            self._wake.set()

