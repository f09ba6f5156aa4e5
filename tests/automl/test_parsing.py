"""Dates parse to the same values one by one (one-row predictions) as in bulk (training)."""

import numpy as np
import pandas as pd

from augurdb.automl.column_types import DATETIME
from augurdb.automl.parsing import parse_datetime, parse_few_iso_dates
from augurdb.automl.statistics import ColumnStats
from augurdb.automl.vectorizer import SMALL_BATCH, vectorize_column

DATES = ["2001-01-01 00:01:00", None, "", "2020-03-04T05:06:07+02:00", "2000-02-29",
         "0001-01-01", "9999-12-31", "1677-09-22", "2262-04-11"]
EXPECTED = np.array(["2001-01-01T00:01:00", "NaT", "NaT", "2020-03-04T03:06:07", "2000-02-29",
                     "NaT", "NaT", "1677-09-22", "2262-04-11"], dtype="datetime64[ns]")


def test_a_few_dates_and_many_parse_alike_and_sentinels_past_the_range_are_missing():
    few = parse_few_iso_dates(DATES)
    assert few is not None and few.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(few, EXPECTED)
    many = parse_datetime(pd.Series(DATES * 20, dtype=object))  # past the one-by-one batch size
    assert len(many) > SMALL_BATCH
    np.testing.assert_array_equal(many.to_numpy()[: len(DATES)], EXPECTED)


def test_a_date_that_is_not_iso_goes_the_general_way():
    assert parse_few_iso_dates(["March 3, 2001"]) is None
    assert parse_datetime(pd.Series(["March 3, 2001"])).tolist() == [pd.Timestamp("2001-03-03")]


def test_a_one_row_date_column_vectorizes_to_datetime64():
    stats = ColumnStats(name="when", dtype=DATETIME, reason="test", n_rows=1, n_missing=0, n_unique=1)
    out = vectorize_column(["2001-01-01 00:01:00"], stats)
    assert isinstance(out, np.ndarray) and out.dtype == np.dtype("datetime64[ns]")
    assert out[0] == np.datetime64("2001-01-01T00:01:00")
