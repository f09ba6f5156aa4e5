"""MySQL's implicit casts where users rely on them: `WHERE text_col > 900` compares as numbers.

DuckDB refuses to compare text with a number; MySQL converts the text. The rewrite wraps each
column compared with a numeric literal in TRY_CAST(... AS DOUBLE): a text that is not a
number compares as NULL (false), where MySQL would read it as 0 and warn. A quoted literal's
number is known before the query runs, so it gets MySQL's own value (`'a' = 0` is 1).
"""

from __future__ import annotations

import math
import re

from sqlglot import exp

from augurdb.sql.value_lists import is_number_literal

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def numeric_comparisons(expression: exp.Expr) -> exp.Expr:
    """A copy of `expression` whose column-vs-number comparisons compare numbers."""
    tree = expression.copy()
    for node in list(tree.find_all(*_COMPARISONS)):
        for column, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(column, exp.Column) and _is_number(other):
                column.replace(_as_double(column))
            elif isinstance(column, exp.Literal) and column.is_string and _is_number(other):
                column.replace(quoted_as_double(column))
    for ranged in list(tree.find_all(exp.Between, exp.In)):
        bounds = ([ranged.args.get("low"), ranged.args.get("high")] if isinstance(ranged, exp.Between)
                  else ranged.expressions)
        if isinstance(ranged.this, exp.Column) and bounds and all(_is_number(b) for b in bounds):
            ranged.this.replace(_as_double(ranged.this))
    return tree


def _is_number(node: exp.Expr | None) -> bool:
    if isinstance(node, exp.Neg):
        return _is_number(node.this)
    return is_number_literal(node)  # a long IN list held as one literal says what it lists


# What MySQL reads from text in a numeric context: leading spaces, then the longest number.
_LEADING_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def mysql_number(text: str) -> float:
    """A quoted value as MySQL computes with it: its leading number ('12abc' is 12), else 0."""
    match = _LEADING_NUMBER.match(text)
    return float(match.group()) if match else 0.0


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)


def truncation_warnings(query: exp.Expr) -> list[tuple[str, int, str]]:
    """MySQL's warning for each quoted literal read as a number with text left over
    (`'12abc' < 13`, `'abc' + 1`), once per literal: SHOW WARNINGS lists them."""
    warnings = []
    for node in query.find_all(*_COMPARISONS, *_ARITHMETIC):
        for literal, other in ((node.left, node.right), (node.right, node.left)):
            if not (isinstance(literal, exp.Literal) and literal.is_string):
                continue
            as_number = (_is_number(other) if isinstance(node, _COMPARISONS)
                         else not isinstance(other, exp.Interval))  # beside an INTERVAL it is a date
            match = _LEADING_NUMBER.match(literal.name)
            if as_number and (match is None or literal.name[match.end():].strip()):
                warnings.append(("Warning", 1292, f"Truncated incorrect DOUBLE value: '{literal.name}'"))
    return warnings


def quoted_as_double(literal: exp.Literal) -> exp.Expr:
    """A quoted literal as the DOUBLE MySQL reads from it (truncation_warnings says where text
    is left over)."""
    value = mysql_number(literal.name)
    if not math.isfinite(value):  # '1e999': out of DOUBLE's range, left to DuckDB to refuse
        return exp.TryCast(this=literal.copy(), to=exp.DataType.build("DOUBLE"))
    return exp.cast(exp.Literal.number(repr(value)), exp.DataType.build("DOUBLE"))


def _as_double(column: exp.Column) -> exp.Expr:
    return exp.TryCast(this=column.copy(), to=exp.DataType.build("DOUBLE"))


def is_text_number_mismatch(message: str) -> bool:
    """DuckDB's errors for comparing text with numbers."""
    return ("Cannot compare values of type VARCHAR" in message or "Cannot mix values of type VARCHAR" in message
            or "Could not convert string" in message)
