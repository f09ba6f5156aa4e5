"""Pushdown rules for SELECT ... JOIN model, as input -> expected fetch SQL fixtures."""

from __future__ import annotations

import pytest
from sqlglot import exp

from augurdb.errors import NotSupported
from augurdb.planner.model_join import single_row_inputs, split_join
from augurdb.sql.parser import parse

OUTPUTS = {"m": {"y", "y_confidence", "y_explain", "y_min", "y_max"}}

FIXTURES = [
    # filters on the data table, ORDER BY and LIMIT are pushed; m.x = const becomes an input
    ("SELECT t.a, m.y FROM d AS t JOIN m WHERE t.a > 1 AND m.p = 5 ORDER BY t.a DESC LIMIT 3",
     "SELECT * FROM d AS t WHERE t.a > 1 ORDER BY t.a DESC LIMIT 3", {"p": 5}),
    # a filter on a prediction stays in the outer query, so LIMIT cannot be pushed
    ("SELECT t.a FROM d AS t JOIN m WHERE t.a > 1 AND m.y > 10 LIMIT 3",
     "SELECT * FROM d AS t WHERE t.a > 1", {}),
    # grouping needs every row
    ("SELECT t.g, avg(m.y) FROM d AS t JOIN m GROUP BY t.g LIMIT 2", "SELECT * FROM d AS t", {}),
    # OR across tables pushes nothing
    ("SELECT * FROM d AS t JOIN m WHERE t.a = 1 OR m.y = 2 LIMIT 5", "SELECT * FROM d AS t", {}),
    # OFFSET: fetch LIMIT + OFFSET rows, the outer query skips
    ("SELECT t.a FROM d AS t JOIN m ORDER BY t.a LIMIT 5 OFFSET 10", "SELECT * FROM d AS t ORDER BY t.a LIMIT 15", {}),
]


@pytest.mark.parametrize(("query", "fetch", "constants"), FIXTURES)
def test_split_join(query: str, fetch: str, constants: dict) -> None:
    select = parse(query)[0]
    assert isinstance(select, exp.Select)
    data = select.args["from_"].this
    split = split_join(select, "t", OUTPUTS, data)
    assert split.fetch.sql("mysql") == fetch
    assert split.constants["m"] == constants


def test_on_clause_renames_data_columns_to_model_inputs() -> None:
    select = parse("SELECT * FROM d AS t JOIN m ON t.question = m.text")[0]
    split = split_join(select, "t", OUTPUTS, select.args["from_"].this)
    assert split.renames["m"] == {"question": "text"}


def test_single_row_inputs() -> None:
    where = parse("SELECT y FROM m WHERE a = 1 AND b = 'x' AND c = -2.5")[0].args["where"]
    assert single_row_inputs(where) == ({"a": 1, "b": "x", "c": -2.5}, False)
    assert single_row_inputs(parse("SELECT * FROM m WHERE 1 = 0")[0].args["where"])[1] is True
    with pytest.raises(NotSupported, match="column = value"):
        single_row_inputs(parse("SELECT y FROM m WHERE a > 1")[0].args["where"])
