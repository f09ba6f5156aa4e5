"""Type inference rules (StatsGenerator)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from augurdb.automl.parsing import parse_quantity
from augurdb.automl.type_inference import infer_column, infer_types

from .conftest import dataset


def _types(df: pd.DataFrame, **kwargs) -> dict[str, str]:
    return {name: stats.dtype for name, stats in infer_types(df, **kwargs).items()}


def test_rules_on_a_synthetic_table():
    n = 300
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "id": np.arange(n),
        "flag": rng.choice([True, False], n),
        "level": rng.choice(["low", "mid", "high"], n),
        "code": rng.choice([1, 2, 3, 4], n),
        "price": [f"${v:,.0f}" for v in rng.uniform(1000, 50000, n)],
        "amount": rng.normal(size=n),
        "count": rng.integers(0, 1000, n),
        "day": pd.date_range("2020-01-01", periods=n).astype(str),
        "stamp": pd.date_range("2020-01-01", periods=n, freq="37min"),
        "comment": [f"this is comment number {i} about item {i % 7}" for i in range(n)],
        "token": [f"tok{i:05d}x" for i in range(n)],
        "series": [f"[{i}, {i + 1}, {i * 2}]" for i in range(n)],
        "same": ["x"] * n,
    })
    assert _types(df) == {
        "id": "identifier", "flag": "binary", "level": "categorical", "code": "categorical",
        "price": "quantity", "amount": "float", "count": "integer", "day": "date", "stamp": "datetime",
        "comment": "short_text", "token": "identifier", "series": "array", "same": "constant",
    }


def test_few_integers_are_codes_only_where_they_fill_their_range():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "tens": rng.choice([10, 20, 30, 40], 400),  # regular steps: codes
        "with_gaps": rng.choice([0, 1, 2, 3, 5, 8], 400),  # 6 of the 9 values from 0 to 8
        "age_days": rng.choice([1, 3, 7, 14, 28, 56, 90, 180, 365], 400),  # sampled at fixed points
    })
    assert _types(df) == {"tens": "categorical", "with_gaps": "categorical", "age_days": "integer"}
    concrete = _types(dataset("concrete_strength/concrete_strength.csv"))
    assert concrete["age"] == "integer"


def test_quantity_strings_parse():
    values = pd.Series(["$1,200", "640,56", "1.200,5", "15%", "12 kg", "-3.5", "USD 30", None, "n/a",
                        "room 3 of the west wing", "note number 12 about things"])
    parsed = parse_quantity(values).tolist()
    assert parsed[:7] == [1200.0, 640.56, 1200.5, 15.0, 12.0, -3.5, 30.0]
    assert all(np.isnan(v) for v in parsed[7:])  # text that merely contains a number is not a quantity


def test_text_with_a_number_in_it_is_text():
    notes = pd.Series([f"free text note number {i} about things" for i in range(40)])
    assert infer_column("notes", notes).dtype == "short_text"


def test_dtype_dict_overrides_and_validates():
    df = pd.DataFrame({"code": [1, 2, 3] * 20, "x": range(60)})
    assert _types(df, dtype_dict={"code": "integer"})["code"] == "integer"
    try:
        infer_types(df, dtype_dict={"nope": "integer"})
    except ValueError as error:
        assert "nope" in str(error)
    else:
        raise AssertionError("unknown override column accepted")


def test_real_tables_typed():
    types = _types(dataset("adult_income/train.csv"))
    assert types["workclass"] == "categorical" and types["age"] == "integer" and types["sex"] == "binary"
    rentals = _types(dataset("home_rentals/home_rentals.csv"))
    assert rentals["sqft"] in ("float", "integer")  # two values use a decimal comma ("640,56")
    titanic = _types(dataset("titanic/train.csv"))
    assert titanic["PassengerId"] == "identifier" and titanic["Name"] == "short_text"


def test_small_batches_parse_like_large_ones():
    from augurdb.automl.parsing import parse_quantity_small

    values = ["$1,200", "640,56", "1.200,5", "15%", "12 kg", "-3.5", None, "n/a", 7, 2.5, "room 3 of 9"]
    small = parse_quantity_small(values)
    large = parse_quantity(pd.Series(values, dtype=object)).to_numpy()
    assert np.allclose(small, large, equal_nan=True)


def test_numbers_with_varied_letters_are_codes_not_quantities():
    """Bus routes ("49", "49B", "X9"): read as numbers, "49B" and "49" would be one route."""
    rng = np.random.default_rng(0)
    routes = [str(r) for r in range(1, 120)] + ["49B", "X9", "J14", "8A", "55N", "X49"]
    units = {
        "route": rng.choice(routes, 2000),
        "suite": rng.choice(["101", "101A", "102", "102A", "103"], 2000),  # one letter, on some values
        "weight": [f"{v:.1f} kg" for v in rng.uniform(1, 90, 2000)],  # one unit on every value
        "price": [f"${v:,.0f}" if i % 3 else f"{v:.0f}" for i, v in enumerate(rng.uniform(1, 5e4, 2000))],
    }
    stats = infer_types(pd.DataFrame(units))
    assert {name: s.dtype for name, s in stats.items()} == {
        "route": "categorical", "suite": "categorical", "weight": "quantity", "price": "quantity"}
    assert {"101", "101A", "102A"} <= {value for value, _ in stats["suite"].top_values}  # not 101 twice
    cta = dataset("chicago_cta_ridership/cta_bus_ridership_2019_2020.csv")
    assert infer_column("ROUTE", cta["ROUTE"].astype(str)).dtype == "categorical"
