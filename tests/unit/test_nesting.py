"""Expressions nested past DuckDB's limit: refused from the text before tokenizing, never wrongly."""

import random

import pytest

import augurdb.sql.nesting as nesting
from augurdb.errors import ParseError
from augurdb.sql.parser import AugurDialect, parse


def test_a_huge_expression_is_refused_without_being_tokenized(monkeypatch):
    def no_tokenizing(self, sql):
        raise AssertionError("tokenized")

    monkeypatch.setattr(AugurDialect, "tokenize", no_tokenizing)
    with pytest.raises(ParseError, match="deeper than 1,000 levels"):
        parse("SELECT " + "+".join(["1"] * 350_000))  # 700 KB: 4 s of tokenizing before
    with pytest.raises(ParseError, match="deeper than 1,000 levels"):
        parse("SELECT " + "(" * 20_000 + "1" + ")" * 20_000)


@pytest.mark.parametrize("sql", [
    "SELECT " + ", ".join(["a + b - c"] * 10_000),  # many operators, none chained past the limit
    "SELECT * FROM t WHERE " + " OR ".join(f"x = {i}" for i in range(5_000)),
    "SELECT '" + "+" * 30_000 + "'",  # operators inside a string
    "SELECT " + " || ".join(["'a'"] * 8_000),  # || is not an arithmetic chain
    "SELECT " + "+".join(["(1)"] * 8_000),  # parentheses interrupt the text's count: left to the tokens
])
def test_long_statements_the_text_check_leaves_to_the_token_check(sql):
    assert len(sql) >= nesting.TEXT_CHECK_FROM
    nesting.check_text_nesting(sql)


def test_the_text_check_refuses_only_what_the_token_check_refuses(monkeypatch):
    """Random chains of operators, operands that hold operator characters (strings, quoted names,
    comments, exponents) and rare commas and parentheses: wherever the text check refuses, the
    token check on the same statement refuses too."""
    monkeypatch.setattr(nesting, "TEXT_CHECK_FROM", 0)
    rng = random.Random(7)
    operands = ["1", "x", "'a+b'", "`c+d`", "1e-5", "2.5E+3", "a1e-3", "/*+*/", "--c+\n", "#+\n", "t.*",
                "\"q-q\"", "'it''s-'", "'a\\'-'"]
    operators = ["+", "-", "*", "/", "%", "^", "|", "&", "||", "&&", "->", " DIV ", " AND ", " - -"]
    dialect, refused = AugurDialect(), 0
    for _ in range(120):
        parts = []
        for _ in range(rng.randint(600, 1400)):
            parts += [rng.choice(operands), rng.choice(operators)]
            parts += rng.choices([",", "(", ")", ""], weights=[1, 1, 1, 3000])
        sql = "SELECT " + " ".join(parts) + " 1"
        try:
            nesting.check_text_nesting(sql)
            continue
        except ParseError:
            refused += 1
        with pytest.raises(ParseError, match="deeper than"):
            nesting.check_token_nesting(dialect.tokenize(sql))
    assert refused >= 5  # the property was exercised
