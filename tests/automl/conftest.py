"""Shared fixtures: synthetic tables and the shared real datasets (tests using those skip only
when /work/shared/data is absent)."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

DATA = pathlib.Path("/work/shared/data")


def dataset(relative: str) -> pd.DataFrame:
    """A shared dataset, or skip the test when the shared data folder is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"shared dataset {path} is absent")
    return pd.read_csv(path)


def regression_frame() -> pd.DataFrame:
    """y = 3*a - 2*b + effect(colour) + noise, with an id column and a missing-value column."""
    rng = np.random.default_rng(0)
    n = 600
    a, b = rng.normal(size=n), rng.uniform(0, 10, size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    effect = pd.Series(colour).map({"red": 5.0, "green": 0.0, "blue": -5.0}).to_numpy()
    gappy = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))
    y = 3 * a - 2 * b + effect + rng.normal(scale=0.5, size=n)
    return pd.DataFrame({"row_id": np.arange(n), "a": a, "b": b, "colour": colour, "gappy": gappy, "y": y})


@pytest.fixture
def classification_frame() -> pd.DataFrame:
    """Imbalanced binary target (about 10% 'yes') driven by x1 and a category."""
    rng = np.random.default_rng(1)
    n = 1500
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(list("abcd"), size=n)
    logit = 2.2 * x1 + (group == "a") * 1.5 - 3.0
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"x1": x1, "x2": x2, "group": group, "label": label})
