"""Placeholder detection and literal rendering for prepared statements."""

from __future__ import annotations

import datetime
import decimal

import pytest

from augurdb.server.mysql.prepared import PreparedStatement
from augurdb.sql.params import placeholder_positions, sql_literal


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("SELECT ?", 1),
        ("SELECT '?', \"?\", `?`, ?", 1),
        ("SELECT 'it''s ?', 'a\\'?', ?", 1),
        ("SELECT ? -- a comment ?\n, ?", 2),
        ("SELECT ? # comment ?\n", 1),
        ("SELECT /* ? */ ?, ?", 2),
        ("SELECT 'unterminated ?", 0),
        ("SELECT a-?, b--?", 2),
    ],
)
def test_placeholder_positions(sql: str, count: int) -> None:
    positions = placeholder_positions(sql)
    assert len(positions) == count
    assert all(sql[p] == "?" for p in positions)


def test_render_replaces_each_placeholder() -> None:
    sql = "SELECT ?, '?', a-?"
    stmt = PreparedStatement(1, sql, placeholder_positions(sql))
    assert stmt.render(["x", -1]) == "SELECT 'x', '?', a-(-1)"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (42, "42"),
        (-0.5, "(-0.5e0)"),
        (1e20, "1e+20"),
        (decimal.Decimal("12.50"), "12.50"),
        ("it's a \\ \"q\"\n\0", "'it\\'s a \\\\ \\\"q\\\"\\n\\0'"),
        (b"\x00\xff", "X'00ff'"),
        (datetime.date(2024, 2, 29), "CAST('2024-02-29' AS DATE)"),
        (datetime.datetime(2024, 2, 29, 1, 2, 3, 5), "CAST('2024-02-29 01:02:03.000005' AS DATETIME)"),
        (datetime.timedelta(hours=-1, seconds=1), "CAST('-00:59:59.000000' AS TIME)"),
    ],
)
def test_sql_literal(value: object, literal: str) -> None:
    assert sql_literal(value) == literal
