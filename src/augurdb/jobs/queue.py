"""The training queue, kept in the catalog's `jobs` table: one row per run not yet ended.

A run is claimed by one server at a time (an UPDATE guarded by `state = 'queued'`, so two
servers on one catalog never both run it) and holds a lease that its worker renews. Whoever
notices a lease that lapsed requeues the run, or fails it once its attempts are spent; no
decision rests on a PID, which a zombie, a reused PID or another container answers wrongly.
Every change a run makes at its end names its run id, so a run that was requeued, or a model
that was dropped, cannot be written by a worker that lost it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from augurdb.catalog.store import Catalog, encode_model_changes


@dataclass(frozen=True)
class Claim:
    model_id: int
    run_id: str
    attempt: int
    training_data: str


class JobQueue:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.store = catalog.store

    def claim(self, owner: str, lease_seconds: float) -> Claim | None:
        """The oldest queued run, now running under `owner`; None when nothing is queued.
        The first lease is twice as long: it covers the worker's start."""
        while True:
            rows = self.store.query("SELECT model_id, attempts, data_file FROM jobs WHERE state = 'queued' "
                                    "ORDER BY queued_at, model_id LIMIT 1")
            if not rows:
                return None
            row, run_id = rows[0], uuid.uuid4().hex[:12]
            with self.store.transaction() as tx:
                taken = tx.execute("UPDATE jobs SET state = 'running', run_id = ?, owner = ?, lease_expires_at = ?, "
                                   "attempts = attempts + 1 WHERE model_id = ? AND state = 'queued'",
                                   (run_id, owner, time.time() + 2 * lease_seconds, row["model_id"])).count
            if taken:
                return Claim(int(row["model_id"]), run_id, int(row["attempts"]) + 1, str(row["data_file"]))
            # another server took it between the two statements: look again

    def renew(self, claim: Claim, lease_seconds: float) -> bool:
        """Extend the run's lease; False when the run is no longer this claim's (dropped, requeued)."""
        with self.store.transaction() as tx:
            return tx.execute("UPDATE jobs SET lease_expires_at = ? WHERE model_id = ? AND run_id = ? "
                              "AND state = 'running'", (time.time() + lease_seconds, claim.model_id,
                                                        claim.run_id)).count == 1

    def holds(self, claim: Claim) -> bool:
        return bool(self.store.query("SELECT 1 AS held FROM jobs WHERE model_id = ? AND run_id = ?",
                                     (claim.model_id, claim.run_id)))

    def finish(self, claim: Claim, *, activate: bool = False, **model_changes: Any) -> bool:
        """End the run and write its outcome into the model (made the active version with
        `activate`), in one transaction; False, and nothing written, when the run is no longer
        this claim's."""
        assignments, values = encode_model_changes(self.catalog, model_changes)
        with self.store.transaction() as tx:
            ended = tx.execute("DELETE FROM jobs WHERE model_id = ? AND run_id = ?",
                               (claim.model_id, claim.run_id)).count
            if ended:
                tx.execute(f"UPDATE models SET {assignments} WHERE id = ?", (*values, claim.model_id))
                if activate:
                    self.catalog.activate_in(tx, claim.model_id)
        return bool(ended)

    def release(self, claim: Claim, why: str) -> bool:
        """Put a running run back in the queue without counting the attempt (a clean shutdown)."""
        with self.store.transaction() as tx:
            released = tx.execute("UPDATE jobs SET state = 'queued', run_id = NULL, owner = NULL, "
                                  "lease_expires_at = NULL, attempts = attempts - 1 "
                                  "WHERE model_id = ? AND run_id = ?", (claim.model_id, claim.run_id)).count
            if released:
                tx.execute("UPDATE models SET status = 'generating', phase_name = ? WHERE id = ?",
                           (why, claim.model_id))
        return bool(released)

    def reap(self, max_attempts: int, training_data_exists: Any) -> list[tuple[int, str, str]]:
        """Requeue each run whose lease lapsed, or fail it when its attempts are spent or its rows
        are gone. Returns (model id, run id, what was done) for each."""
        now, done = time.time(), []
        lapsed = self.store.query("SELECT model_id, run_id, attempts, data_file, lease_expires_at FROM jobs "
                                  "WHERE state = 'running' AND lease_expires_at < ?", (now,))
        for row in lapsed:
            model_id, run_id = int(row["model_id"]), row["run_id"]
            since = time.strftime("%H:%M:%S", time.localtime(row["lease_expires_at"]))
            with self.store.transaction() as tx:
                if int(row["attempts"]) < max_attempts and training_data_exists(row["data_file"]):
                    changed = tx.execute("UPDATE jobs SET state = 'queued', run_id = NULL, owner = NULL, "
                                         "lease_expires_at = NULL WHERE model_id = ? AND run_id = ?",
                                         (model_id, run_id)).count
                    outcome = "requeued"
                    if changed:
                        tx.execute("UPDATE models SET status = 'generating', phase_name = ? WHERE id = ?",
                                   (f"requeued: its worker stopped renewing its lease at {since}", model_id))
                else:
                    changed = tx.execute("DELETE FROM jobs WHERE model_id = ? AND run_id = ?",
                                         (model_id, run_id)).count
                    outcome = "failed"
                    if changed:
                        tx.execute("UPDATE models SET status = 'error', error = ?, training_stopped_at = ? "
                                   "WHERE id = ?", (_lapsed_error(int(row["attempts"]), since), now, model_id))
            if changed:
                done.append((model_id, run_id, outcome))
        return done

    def training_data_of(self, model_ids: list[int]) -> list[str]:
        """The training rows of these models' runs not yet ended (to remove with the models)."""
        names = []
        for model_id in model_ids:
            names += [r["data_file"] for r in self.store.query("SELECT data_file FROM jobs WHERE model_id = ?",
                                                               (model_id,))]
        return names

    def queued_or_running(self) -> list[dict[str, Any]]:
        return self.store.query("SELECT model_id, state, owner, attempts, lease_expires_at FROM jobs "
                                "ORDER BY queued_at, model_id")


def _lapsed_error(attempts: int, since: str) -> str:
    runs = "its worker" if attempts == 1 else f"each of its {attempts} workers"
    return (f"Training was interrupted: {runs} stopped before it finished (the last lease lapsed at {since}; "
            "was the server or its worker killed?). Run RETRAIN to train it again.")

