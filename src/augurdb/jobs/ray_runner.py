"""Training runs as Ray tasks on a Ray cluster (`augurdb serve --ray-address HOST:PORT`).

The task runs the same worker as a local process (jobs/worker.py): it renews its lease,
reports progress and writes its outcome into the catalog itself, so the catalog and the
artifact store must be reachable from the cluster's nodes (a PostgreSQL catalog and a shared
directory, or one machine). Ray does not retry a run (max_retries=0): the queue's lease is
what requeues a run whose node died, so a run is never executed twice at once.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from augurdb.jobs.runners import RunHandle, RunSpec

log = logging.getLogger(__name__)


def _train_task(spec_json: str, secret_key: str | None) -> None:
    from augurdb.jobs.worker import run

    run(RunSpec.from_json(spec_json), secret_key)


class _RayHandle:
    def __init__(self, ray: Any, ref: Any):
        self._ray, self._ref = ray, ref

    def wait(self) -> str | None:
        exceptions = self._ray.exceptions
        try:
            self._ray.get(self._ref)
        except exceptions.TaskCancelledError:
            return "its Ray task was cancelled"
        except (exceptions.WorkerCrashedError, exceptions.NodeDiedError) as error:
            return f"its Ray worker died: {type(error).__name__}"
        except exceptions.RayTaskError as error:
            return f"its Ray task failed: {error.cause!r}"
        except exceptions.RayError as error:
            return f"Ray: {error}"
        return None

    def cancel(self, grace: float = 10) -> None:
        """force=True kills the task's worker process: training in C code would not see an interrupt."""
        try:
            self._ray.cancel(self._ref, force=True)
        except Exception:  # already finished
            log.debug("cancel of a Ray task that ended", exc_info=True)


_connected = threading.Lock()


def connect_ray(address: str) -> None:
    """Join the cluster once per process (training runs and Ray Data JOINs share the connection)."""
    with _connected:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray

        if not ray.is_initialized():
            ray.init(address=address, namespace="augurdb", log_to_driver=False, ignore_reinit_error=True)


class RayRunner:
    name = "ray"

    def __init__(self, address: str):
        self.address = address
        self._remote: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        """Connect on the first run, not at start: a server that never trains never waits for Ray."""
        with self._lock:
            if self._remote is None:
                import ray

                connect_ray(self.address)
                self._remote = ray.remote(num_cpus=1, max_retries=0)(_train_task)
            return self._remote

    def start(self, spec: RunSpec, secret_key: str | None) -> RunHandle:
        import ray

        return _RayHandle(ray, self._connect().remote(spec.to_json(), secret_key))

    def close(self) -> None:
        if self._remote is not None:
            import ray

            ray.shutdown()
