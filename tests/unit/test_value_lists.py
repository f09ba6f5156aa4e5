"""Long IN lists of plain literals are parsed as one node holding their text (sql/value_lists.py),
and come back out as the same values in every dialect a plan renders."""

from __future__ import annotations

import duckdb
import pytest
from sqlglot import exp

from augurdb.errors import ParseError
from augurdb.sql.parser import parse, to_duckdb
from augurdb.sql.value_lists import META, MIN_VALUES, take_value_lists

NUMBERS = ", ".join(str(i) for i in range(-5, MIN_VALUES + 5))
STRINGS = ", ".join(f"'v{i}, it''s'" for i in range(MIN_VALUES))


def test_a_long_number_list_becomes_one_literal_with_the_same_values():
    (statement,) = parse(f"SELECT count(*) FROM range(3000) AS t WHERE range IN ({NUMBERS}) AND range > 2")
    literals = [n for n in statement.find_all(exp.Literal) if META in n.meta]
    assert len(literals) == 1 and literals[0].meta[META] == "numbers" and literals[0].this == NUMBERS
    assert duckdb.sql(to_duckdb(statement)).fetchall() == [(MIN_VALUES + 5 - 3,)]
    for dialect in ("postgres", "mysql", "sqlite"):
        assert f"IN ({NUMBERS})" in statement.sql(dialect=dialect)


def test_a_long_string_list_with_commas_and_quotes_inside_its_strings():
    sql = f"SELECT count(*) FROM (SELECT CONCAT('v', range, ', it''s') AS s FROM range(5000)) AS t WHERE s NOT IN ({STRINGS})"
    (statement,) = parse(sql)
    literal = next(n for n in statement.find_all(exp.Literal) if META in n.meta)
    assert literal.meta[META] == "strings"
    assert duckdb.sql(to_duckdb(statement)).fetchall() == [(5000 - MIN_VALUES,)]


@pytest.mark.parametrize("sql", [
    f"SELECT 'x IN ({NUMBERS})' AS quoted",  # inside a string
    f"SELECT 1 /* IN ({NUMBERS}) */",  # inside a comment
    f"SELECT 1 FROM t WHERE a IN ({NUMBERS}, b)",  # not only literals
    f"SELECT 1 FROM t WHERE a IN ({NUMBERS}, 'x')",  # numbers and strings mixed
    "SELECT 1 FROM t WHERE a IN (" + ", ".join(str(i) for i in range(MIN_VALUES - 1)) + ")",  # short
    f"SELECT 1 FROM t WHERE a IN ({NUMBERS}) AND b = 'a\\\\b'",  # a backslash anywhere
])
def test_lists_it_leaves_to_the_parser(sql: str):
    text, lists = take_value_lists(sql)
    assert lists == {} and text == sql


def test_a_syntax_error_is_placed_in_the_statement_as_written():
    with pytest.raises(ParseError, match="near 'ORDER ORDER'"):
        parse(f"SELECT 1 FROM t WHERE a IN ({NUMBERS}) ORDER ORDER")


def test_two_lists_in_one_statement():
    text, lists = take_value_lists(f"SELECT 1 FROM t WHERE a IN ({NUMBERS}) OR b NOT IN ({STRINGS})")
    assert list(lists.values()) == [NUMBERS, STRINGS]
    assert NUMBERS not in text and "v1, it" not in text


def test_an_expression_nested_past_duckdbs_limit_is_refused_before_parsing():
    with pytest.raises(ParseError, match="deeper than 1,000 levels"):
        parse("SELECT " + "+".join(["1"] * 1002))
    with pytest.raises(ParseError, match="deeper than 1,000 levels"):
        parse("SELECT " + "(" * 1002 + "1" + ")" * 1002)
    (ors,) = parse("SELECT count(*) FROM range(10) WHERE " + " OR ".join(f"range = {i}" for i in range(3000)))
    assert duckdb.sql(to_duckdb(ors)).fetchall() == [(10,)]
    (sums,) = parse("SELECT " + ", ".join("+".join(["1"] * 900) for _ in range(5)))  # each column under the limit
    assert duckdb.sql(to_duckdb(sums)).fetchall() == [(900,) * 5]
