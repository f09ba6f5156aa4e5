"""One binder for the DB-API and prepared statements: `?` in strings, identifiers and comments is text."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import augurdb
from augurdb.errors import WrongArguments
from augurdb.sql.params import bind


@pytest.mark.parametrize(
    ("sql", "bound"),
    [
        ("SELECT ?, '?'", "SELECT 1, '?'"),
        ('SELECT "?", ?', "SELECT \"?\", 1"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', 1"),
        ("SELECT 'it\\'s ?', ?", "SELECT 'it\\'s ?', 1"),
        ("SELECT 'a\\\\', ?", "SELECT 'a\\\\', 1"),  # an escaped backslash ends the string
        ("SELECT `a?b`, `x``?`, ?", "SELECT `a?b`, `x``?`, 1"),
        ("SELECT ? -- why? \n", "SELECT 1 -- why? \n"),
        ("SELECT a--?\n", "SELECT a--1\n"),  # `--` without a space is two minus signs
        ("SELECT ? # why?\n", "SELECT 1 # why?\n"),
        ("SELECT /* why? */ ?", "SELECT /* why? */ 1"),
        ("SELECT ? /* open comment ?", "SELECT 1 /* open comment ?"),
    ],
)
def test_bind_skips_strings_identifiers_and_comments(sql: str, bound: str) -> None:
    assert bind(sql, [1]) == bound


def test_bind_writes_typed_literals() -> None:
    values = [None, True, -2, 0.5, "o'k\\", datetime.date(2024, 2, 29)]
    assert bind("VALUES (?, ?, ?, ?, ?, ?)", values) == \
        "VALUES (NULL, TRUE, (-2), 0.5e0, 'o\\'k\\\\', CAST('2024-02-29' AS DATE))"


@pytest.mark.parametrize("params", [[], [1, 2]])
def test_bind_refuses_a_wrong_parameter_count(params: list[object]) -> None:
    with pytest.raises(WrongArguments, match="1 '\\?' placeholder"):
        bind("SELECT ? -- ?", params)


def test_dbapi_binds_around_question_marks_in_text(tmp_path: Path) -> None:
    with augurdb.connect(tmp_path / "data") as con:
        rows = con.execute("SELECT 'why?' AS q, ? AS p, `x?` FROM (SELECT 1 AS `x?`) AS t -- and?\n",
                           ["it's"]).fetchall()
    assert rows == [("why?", "it's", 1)]
