"""A learn request is checked from column names and target values alone, before any training."""

from __future__ import annotations

import pandas as pd
import pytest

from augurdb.automl import AutoMLError
from augurdb.automl.validation import check_learn_request

COLUMNS = ["a", "b", "price"]
PRICES = pd.Series([100.5, 230.0, 180.25, 99.0] * 10, name="price")


def test_a_sound_request_passes():
    check_learn_request(COLUMNS, PRICES, {"a": "categorical"},
                        {"encoders": {"a": "CategoricalEncoder", "price": "NumericEncoder"},
                         "ignore_columns": ["b"], "accuracy_functions": ["mean_absolute_error"]})


@pytest.mark.parametrize("dtype_dict, options, message", [
    (None, {"encoders": {"nope": "NumericEncoder"}}, "encoders names columns that are not in the data: \\['nope'\\]"),
    ({"nope": "integer"}, None, "dtype_dict names columns"),
    (None, {"ignore_columns": ["price"]}, "cannot be ignored"),
    (None, {"accuracy_functions": ["f1_score"]}, "f1_score does not apply to 'price', a numeric target"),
    ({"price": "categorical"}, {"accuracy_functions": ["r2_score"]}, "r2_score does not apply to 'price', a class"),
])
def test_requests_learn_would_refuse_are_refused_up_front(dtype_dict, options, message):
    with pytest.raises(AutoMLError, match=message):
        check_learn_request(COLUMNS, PRICES, dtype_dict, options)


def test_targets_that_cannot_be_learnt():
    with pytest.raises(AutoMLError, match="single value"):
        check_learn_request(COLUMNS, pd.Series([5] * 30, name="price"), None, None)
    with pytest.raises(AutoMLError, match="every row's 'price' is missing"):
        check_learn_request(COLUMNS, pd.Series([None, ""] * 10, name="price", dtype=object), None, None)
    with pytest.raises(AutoMLError, match="cannot predict 'price'"):
        notes = pd.Series([f"free text note number {i} about things" for i in range(40)], name="price")
        check_learn_request(COLUMNS, notes, None, None)
