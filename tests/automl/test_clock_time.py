"""Clock times written as HHMM numbers get minutes since midnight beside the number itself."""

import pickle

import numpy as np
import pandas as pd

from augurdb.automl import learn
from augurdb.automl.encoders.base import TargetView
from augurdb.automl.encoders.numeric import NumericEncoder, WholeNumberEncoder, _is_clock_time

RNG = np.random.default_rng(0)


def _clock_times(n: int) -> np.ndarray:
    minutes = RNG.integers(0, 24 * 60, n)
    return (minutes // 60 * 100 + minutes % 60).astype("float64")


def test_hhmm_columns_are_told_from_other_whole_numbers():
    assert _is_clock_time(_clock_times(5000))
    assert _is_clock_time(np.append(_clock_times(5000), 2400.0))  # midnight as 2400, as flights write it
    assert not _is_clock_time(RNG.integers(0, 2400, 5000).astype("float64"))  # other numbers in the range
    assert not _is_clock_time(RNG.integers(0, 60, 5000).astype("float64"))  # too few values to tell
    assert not _is_clock_time(_clock_times(5000) + 0.5)  # not whole
    assert not _is_clock_time(np.append(_clock_times(5000), 2500.0))  # past midnight
    assert not _is_clock_time(np.append(_clock_times(5000), -1.0))
    assert not _is_clock_time(np.array([]))


def test_a_minute_before_the_hour_is_a_minute_away_in_the_minutes_feature():
    values = np.append(_clock_times(2000), [1859.0, 1900.0, np.nan])
    encoder = NumericEncoder("dep_time")
    out = encoder.fit_transform(values, TargetView(np.zeros(values.size), 0))
    assert encoder.feature_names == ["dep_time", "dep_time:minutes", "dep_time:missing"]
    minutes = out[:, 1] * encoder.clock_std + encoder.clock_mean
    assert np.allclose(minutes[-3:-1], [18 * 60 + 59, 19 * 60], atol=1e-3)
    assert abs(minutes[-1] - encoder.clock_mean) < 1e-3  # a missing time reads as the mean


def test_other_numbers_get_no_minutes():
    values = RNG.integers(0, 2400, 2000).astype("float64")
    encoder = WholeNumberEncoder("count")
    encoder.fit_transform(values, TargetView(np.zeros(values.size), 0))
    assert not any(name.endswith(":minutes") for name in encoder.feature_names)


def test_an_encoder_saved_before_clock_times_still_transforms():
    encoder = NumericEncoder("dep_time")
    encoder.fit_transform(_clock_times(500), TargetView(np.zeros(500), 0))
    del encoder.__dict__["clock"]  # as unpickled from a model saved before the feature
    old = pickle.loads(pickle.dumps(encoder))
    assert old.transform(np.array([1859.0])).shape == (1, 1)


def test_a_linear_model_learns_a_delay_between_two_clock_times():
    # An arrival delay: actual minus scheduled arrival, each written HHMM. Linear in minutes, not
    # in the numbers as written, so only the minutes feature lets a linear mixer fit it.
    scheduled = _clock_times(3000)
    late = RNG.integers(-20, 60, scheduled.size)
    arrived_minutes = np.clip((scheduled // 100) * 60 + scheduled % 100 + late, 0, 24 * 60 - 1)
    arrived = arrived_minutes // 60 * 100 + arrived_minutes % 60
    frame = pd.DataFrame({"sched_arr_time": scheduled.astype(int), "arr_time": arrived.astype(int),
                          "arr_delay": (arrived_minutes - (scheduled // 100) * 60 - scheduled % 100)})
    predictor = learn(frame, "arr_delay", time_budget=10, seed=0, options={"mixers": ["Linear"]})
    assert predictor.accuracy > 0.99
