"""Progress while a model trains: the phase, and inside ModelTrainer the mixer, fold, budget used
and time left, sent again by the ticker while one fit runs long."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from tests.automl.conftest import regression_frame

from augurdb.automl import learn
from augurdb.automl.progress import TICK_SECONDS, TrainingProgress

STEP = re.compile(r"^ModelTrainer: (?P<step>.+); (?P<share>\d+)% of the budget used, (?P<left>\d+) s left$")


def test_every_phase_and_each_mixer_and_fold_is_reported():
    reports: list[tuple[int, int, str]] = []
    learn(regression_frame(), "y", time_budget=6, options={"mixers": ["Linear", "LightGBM"]},
          progress=lambda *report: reports.append(report))
    phases = [text for _, _, text in reports if ":" not in text]
    assert phases == ["DataExtractor", "StatsGenerator", "DataVectorizer", "DataEncoder", "ModelTrainer", "Analysis"]
    assert {total for _, total, _ in reports} == {6}
    steps = [STEP.match(text) for phase, _, text in reports if phase == 5 and ":" in text]
    assert steps and all(steps)
    # 600 rows: 5-fold cross-validation, repeated with the time left. Steps closer than half a
    # second are not each sent, so the quick Linear folds may not all show.
    # After training, each mixer's predictions are timed (USING infer_limit).
    fold = re.compile(r"^(Linear|LightGBM)(( \(repeat \d of the k-fold\))?, fold [1-5]/5|, timing its predictions)$")
    training = [s["step"] for s in steps if not s["step"].startswith(("column importance", "LightGBM, refit"))]
    assert training and all(fold.match(step) for step in training), training
    assert any(step.startswith("LightGBM") for step in training)
    shares = [int(s["share"]) for s in steps]
    assert shares == sorted(shares) and all(0 <= share <= 100 for share in shares)


def test_the_ticker_reports_while_one_fit_runs_long():
    reports: list[str] = []
    rows = pd.DataFrame({"a": np.arange(60.0) % 7 + 0.5, "y": (np.arange(60.0) % 7) * 2})
    learn(rows, "y", time_budget=4, options={"mixers": ["tests.automl.slow_start:SlowFitMixer"]},
          progress=lambda phase, total, text: reports.append(text))
    during_first_fit = [t for t in reports if t.startswith("ModelTrainer: tests.automl.slow_start:SlowFitMixer, fold 1/3;")]
    # One step report when the fold starts, then one per TICK_SECONDS of its 5 s fit.
    assert len(during_first_fit) >= 1 + int(5.0 // TICK_SECONDS) - 1, reports


def test_a_failing_progress_write_does_not_stop_training():
    seen: list[str] = []

    def broken(phase: int, total: int, text: str) -> None:
        seen.append(text)
        raise OSError("database is locked")

    tracker = TrainingProgress(broken, 0.0, 10.0)
    tracker.phase(5, 6, "ModelTrainer")
    tracker.phase(6, 6, "Analysis")
    tracker.close()
    assert seen == ["ModelTrainer", "Analysis"]
