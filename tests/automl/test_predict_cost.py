"""USING infer_limit: the kept mixers predict within it, and what each costs is in DESCRIBE."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.automl.conftest import dataset

from augurdb.automl import AutoMLError, learn, predict_cost
from augurdb.automl.mixers.base import BaggedMixer, Mixer
from augurdb.automl.predict_cost import bag_within_limit
from augurdb.automl.selection import greedy_ensemble
from augurdb.automl.tasks import REGRESSION, Task


def _outputs(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Three mixers' held-out outputs: 'slow' is the most accurate, 'fast' the least."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=500)
    return {"slow": y + rng.normal(scale=0.1, size=500), "middle": y + rng.normal(scale=0.5, size=500),
            "fast": y + rng.normal(scale=1.0, size=500)}, y


def test_without_a_binding_limit_the_most_accurate_mixer_leads():
    outputs, y = _outputs()
    weights = greedy_ensemble(outputs, y, Task(REGRESSION), {"slow": 5e-6, "middle": 1e-6, "fast": 1e-7}, 1e-4)
    assert max(weights, key=weights.__getitem__) == "slow"


def test_a_mixer_over_the_limit_is_not_kept():
    outputs, y = _outputs()
    weights = greedy_ensemble(outputs, y, Task(REGRESSION), {"slow": 5e-6, "middle": 1e-6, "fast": 1e-7}, 2e-6)
    assert "slow" not in weights
    assert "middle" in weights


def test_the_kept_mixers_costs_sum_to_at_most_the_limit():
    outputs, y = _outputs()
    costs = {"slow": 1e-6, "middle": 1e-6, "fast": 1e-6}
    weights = greedy_ensemble(outputs, y, Task(REGRESSION), costs, 1.5e-6)
    assert len(weights) == 1  # any two would cost 2e-6


def test_when_no_mixer_fits_the_fastest_is_kept():
    outputs, y = _outputs()
    weights = greedy_ensemble(outputs, y, Task(REGRESSION), {"slow": 5e-6, "middle": 3e-6, "fast": 2e-6}, 1e-6)
    assert weights == {"fast": 1.0}


class _Member(Mixer):
    def __init__(self, cost: float):
        self.cost = cost  # what predict_cost.seconds_per_row reads for it (the test stands in for timing)

    def predict(self, x):
        return np.zeros(x.shape[0])


@pytest.fixture
def member_costs(monkeypatch):
    """Each member's stated cost instead of a timing: which rounds are kept is then exact."""
    monkeypatch.setattr(predict_cost, "seconds_per_row", lambda member, rows: member.cost)


def test_a_bag_keeps_whole_k_fold_rounds_that_fit(member_costs):
    rows = np.zeros((10, 2), dtype="float32")
    bag = BaggedMixer([_Member(1e-6) for _ in range(5 * 4)], rounds=4)  # 5 folds, 4 rounds: 20 µs
    trimmed, cost = bag_within_limit(bag, rows, 10e-6, folds=5)
    assert len(trimmed.members) == 10 and cost == pytest.approx(10e-6)
    assert trimmed.rounds == 4  # held-out outputs still averaged 4 rounds: the intervals' bookkeeping
    one_round, cost = bag_within_limit(bag, rows, 1e-9, folds=5)
    assert len(one_round.members) == 5 and cost == pytest.approx(5e-6)  # never fewer than one model per fold
    same, cost = bag_within_limit(bag, rows, 30e-6, folds=5)
    assert same is bag and cost == pytest.approx(20e-6)


def test_a_bag_costs_the_sum_of_its_members_not_a_multiple_of_the_first(member_costs):
    # Folds choose their own parameters: here the first member is a slow one (linear trees).
    rows = np.zeros((10, 2), dtype="float32")
    bag = BaggedMixer([_Member(40e-6)] + [_Member(10e-6) for _ in range(4)])
    kept, cost = bag_within_limit(bag, rows, 1e-4, folds=5)
    assert kept is bag and cost == pytest.approx(80e-6)  # 5 x 40 µs would have broken the limit


@pytest.mark.parametrize("value", [-1, 0, "fast", True, float("inf")])
def test_a_bad_infer_limit_is_refused(value):
    df = dataset("home_rentals/home_rentals.csv")
    with pytest.raises(AutoMLError, match="infer_limit must be a positive number"):
        learn(df, "rental_price", time_budget=2, options={"infer_limit": value})


def _selected(predictor) -> list[dict]:
    table = predictor.describe("model")
    return table[table["selected"] == 1].to_dict("records")


def test_a_tight_limit_keeps_fewer_trees_and_what_is_kept_fits():
    df = dataset("home_rentals/home_rentals.csv")
    options = {"mixers": ["Linear", "LightGBM"], "infer_limit": 1e-6}
    tight = learn(df, "rental_price", time_budget=10, options=options)
    free = learn(df, "rental_price", time_budget=10, options={**options, "infer_limit": 1.0})
    models = {name: p.describe("model").set_index("name") for name, p in (("tight", tight), ("free", free))}
    rounds = {name: json.loads(m.loc["LightGBM", "settings"])["rounds"] for name, m in models.items()}
    assert rounds["tight"] < rounds["free"]
    # Every trained mixer was timed, and the kept ones fit the limit; only when none fits on its
    # own is the fastest kept alone.
    costs = models["tight"]["predict_seconds_per_row"]
    assert costs.notna().all()
    kept = [row["predict_seconds_per_row"] for row in _selected(tight)]
    if sum(kept) > 1e-6:  # no mixer fits on its own
        assert kept == [costs.min()]
    assert tight.accuracy > 0.95  # home_rentals is near-linear: Linear alone scores 0.999


def test_a_predict_slowed_once_by_someone_elses_load_costs_what_its_fast_runs_take():
    import time

    pauses = iter([0.2, 0.01, 0.01])  # the first run shares its core with another process

    class Mixer_(Mixer):
        def predict(self, x):
            time.sleep(next(pauses))
            return np.zeros(x.shape[0])

    cost = predict_cost.seconds_per_row(Mixer_(), np.zeros((100, 2)))
    assert 0.01 / 100 <= cost < 0.1 / 100
