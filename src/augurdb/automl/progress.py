"""Progress a user can read while a model trains: the phase, and inside ModelTrainer (most of the
time) which mixer and fold, the share of the budget used and the time left.

The caller's ``progress(phase, total, text)`` gets each phase as it starts, each step inside
ModelTrainer, and the same text with fresh figures every ``TICK_SECONDS`` from a daemon thread,
so the models table moves even while one fold trains for minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0
_MIN_GAP = 0.5  # steps closer together than this (tiny folds) are not each written to the catalog

ProgressFn = Callable[[int, int, str], None]


class TrainingProgress:
    """Reports phases and steps; ``close()`` stops the ticker."""

    def __init__(self, report: ProgressFn | None, started: float, budget: float):
        self._report, self._started, self._budget = report, started, budget
        self._phase, self._total, self._name, self._step = 0, 0, "", ""
        self._last_sent = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if report is not None:
            self._ticker = threading.Thread(target=self._tick, name="training-progress", daemon=True)
            self._ticker.start()

    def phase(self, index: int, total: int, name: str) -> None:
        """A phase starts (the run_phases callback)."""
        with self._lock:
            self._phase, self._total, self._name, self._step = index, total, name, ""
        self._send()

    def step(self, text: str) -> None:
        """A step inside the current phase, e.g. "LightGBM, fold 2/5"."""
        with self._lock:
            self._step = text
        if time.monotonic() - self._last_sent >= _MIN_GAP:
            self._send()

    def text(self) -> str:
        """What the user sees: "ModelTrainer: LightGBM, fold 2/5; 41% of the budget used, 35 s left"."""
        with self._lock:
            name, step = self._name, self._step
        if not step:
            return name
        used = time.monotonic() - self._started
        share = min(100, round(100 * used / self._budget)) if self._budget else 100
        left = max(0, round(self._budget - used))
        return f"{name}: {step}; {share}% of the budget used, {left} s left"

    def _send(self) -> None:
        if self._report is None or not self._phase:
            return
        self._last_sent = time.monotonic()
        try:
            self._report(self._phase, self._total, self.text())
        except Exception as error:  # a progress write that fails (a busy catalog) must not stop training
            log.warning("training progress not recorded: %s", error)

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self._send()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
