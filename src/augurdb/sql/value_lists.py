"""Long `IN (...)` lists of plain literals, parsed as one node holding their text.

A list of 150,000 values is 150,000 parse-tree nodes: parsing, copying and rendering them took
seconds, and the garbage collector's passes over them held the GIL long enough to stall every
other connection. Before parsing, such a list is swapped for a marker; after parsing, the marker
becomes one number literal whose text is the list (`1, 2, 3`), which every dialect renders as it
is: MySQL, DuckDB, PostgreSQL and SQLite read plain numbers and single-quoted strings alike.

Only lists of at least MIN_VALUES numbers, or of single-quoted strings, are taken, and only in
statements without backslashes (whose string escapes differ between dialects).
"""

from __future__ import annotations

import re
import secrets

from sqlglot import exp

MIN_VALUES = 1000
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_STRING = r"'(?:[^'\\]|'')*'"
# Strings, quoted names and comments are matched whole, so an IN inside one is left alone.
_SCAN = re.compile(r"""'(?:[^'\\]|'')*'|"[^"]*"|`[^`]*`|--[^\n]*|\#[^\n]*|/\*.*?\*/|(?P<head>\bIN\s*\(\s*)""",
                   re.IGNORECASE | re.DOTALL)
# A list is read a few thousand values per regex call: each call holds the GIL, and one call over
# 150k values held it for 60 ms, long enough to delay every other connection.
_CHUNK = 4096
_RUNS = {kind: re.compile(rf"{item}(?:\s*,\s*{item}){{0,{_CHUNK - 1}}}")
         for kind, item in (("numbers", _NUMBER), ("strings", _STRING))}
_COMMA = re.compile(r"\s*,\s*")
_CLOSE = re.compile(r"\s*\)")
META = "value_list"  # on the literal: "numbers" or "strings", what its text lists


def _value_list(sql: str, start: int) -> tuple[int, str] | None:
    """Where the list of plain literals starting at ``start`` ends, and its kind, when it has at
    least MIN_VALUES values of one kind and closes with ``)``; else None."""
    kind = "strings" if sql.startswith("'", start) else "numbers"
    run, position = _RUNS[kind], start
    while (found := run.match(sql, position)) is not None:
        position = found.end()
        comma = _COMMA.match(sql, position)
        if comma is None or not run.match(sql, comma.end()):
            break
        position = comma.end()
    text = sql[start:position]
    # Numbers hold no comma; a string may, so strings are counted one by one.
    values = text.count(",") + 1 if kind == "numbers" else len(re.findall(_STRING, text))
    if not text or values < MIN_VALUES or _CLOSE.match(sql, position) is None:
        return None
    return position, kind


def take_value_lists(sql: str) -> tuple[str, dict[str, str]]:
    """The statement with each long list replaced by a marker name, and marker -> list text."""
    if "\\" in sql or len(sql) < MIN_VALUES * 2:
        return sql, {}
    nonce = secrets.token_hex(4)
    lists: dict[str, str] = {}
    parts, done, position = [], 0, 0
    while (found := _SCAN.search(sql, position)) is not None:
        position = found.end()
        if found.group("head") is None:
            continue
        listed = _value_list(sql, position)
        if listed is None:
            continue
        marker = f"__augurdb_values_{nonce}_{len(lists)}"
        lists[marker] = sql[position:listed[0]]
        parts += [sql[done:position], marker]
        done = position = listed[0]
    return "".join(parts) + sql[done:], lists


def is_number_literal(node: exp.Expr | None) -> bool:
    """A number literal (a value list of numbers counts; one of strings does not)."""
    return isinstance(node, exp.Literal) and not node.is_string and node.meta.get(META, "numbers") == "numbers"


def put_value_lists(statement: exp.Expr, lists: dict[str, str]) -> exp.Expr:
    """Each marker column becomes one literal holding its list's text."""
    for column in list(statement.find_all(exp.Column)):
        text = lists.get(column.name) if not column.table else None
        if text is not None:
            literal = exp.Literal(this=text, is_string=False)
            literal.meta[META] = "strings" if text.startswith("'") else "numbers"
            column.replace(literal)
    return statement
