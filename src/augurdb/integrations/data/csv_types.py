"""Column types of an uploaded CSV that never change a value the user wrote.

The file is read as text; a column becomes a number, a date or a timestamp only when every one
of its values is written exactly as that type prints it back: `01234` (a code with a leading
zero), `+5` or `1,000` keep the column text, and `yes`/`no`, `Y`/`N` or `true`/`false` are never
booleans. An empty field is NULL. A user may set a column's type at upload instead
(`augurdb load --types zip=text,price=float`).
"""

from __future__ import annotations

import duckdb

from augurdb.errors import WrongArguments

# Each candidate: its DuckDB type and the exact spelling a value must have to take it.
_INTEGER = r"-?(0|[1-9][0-9]*)"
CANDIDATES = (
    ("BIGINT", _INTEGER),
    # At most 15 significant digits: a double prints those back as written.
    ("DOUBLE", r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?"),
    ("DATE", r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    ("TIMESTAMP", r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"),
)
# What users may write in --types, and the DuckDB type each means.
USER_TYPES = {"text": "VARCHAR", "varchar": "VARCHAR", "string": "VARCHAR", "integer": "BIGINT", "int": "BIGINT",
              "bigint": "BIGINT", "float": "DOUBLE", "double": "DOUBLE", "number": "DOUBLE", "date": "DATE",
              "datetime": "TIMESTAMP", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN", "bool": "BOOLEAN"}


def parse_types(text: str | None) -> dict[str, str]:
    """`col=type,col2=type` (as `augurdb load --types` and the HTTP `types` field take it)."""
    types: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        column, sep, kind = part.partition("=")
        if not sep or kind.strip().lower() not in USER_TYPES:
            raise WrongArguments(f"Column types are column=type pairs with a type of {', '.join(sorted(USER_TYPES))}; "
                                 f"got {part.strip()!r}")
        types[column.strip()] = kind.strip().lower()
    return types


def typed_select(con: duckdb.DuckDBPyConnection, reader: str, overrides: dict[str, str]) -> str:
    """A SELECT over `reader` (a read_csv(..., all_varchar=true)) with each column cast to its type."""
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    unknown = sorted(set(overrides) - set(columns))
    if unknown:
        raise WrongArguments(f"--types names column(s) {', '.join(unknown)} that the file does not have "
                             f"(its columns: {', '.join(columns)})")
    inferred = _inferred(con, reader, [c for c in columns if c not in overrides])
    parts = []
    for column in columns:
        kind = USER_TYPES[overrides[column]] if column in overrides else inferred[column]
        name = _quoted(column)
        parts.append(f"{name}" if kind == "VARCHAR" else f"CAST({name} AS {kind}) AS {name}")
    return f"SELECT {', '.join(parts)} FROM {reader}"


def _inferred(con: duckdb.DuckDBPyConnection, reader: str, columns: list[str]) -> dict[str, str]:
    """Each column's first candidate type that all its values are written in; else VARCHAR."""
    if not columns:
        return {}
    checks = []
    for column in columns:
        name = _quoted(column)
        checks.append(f"count({name})")
        for kind, pattern in CANDIDATES:
            fits = f"regexp_full_match({name}, '{pattern}') AND TRY_CAST({name} AS {kind}) IS NOT NULL"
            if kind == "DOUBLE":  # its significant digits: the mantissa's, leading zeros left out
                fits += (f" AND length(ltrim(regexp_replace(split_part(lower({name}), 'e', 1), '[^0-9]', '', 'g'), "
                         f"'0')) <= 15")
            checks.append(f"coalesce(bool_and({fits}) FILTER (WHERE {name} IS NOT NULL), false)")
    row = con.execute(f"SELECT {', '.join(checks)} FROM {reader}").fetchone()
    assert row is not None  # an aggregate always answers one row
    width = 1 + len(CANDIDATES)
    types: dict[str, str] = {}
    for i, column in enumerate(columns):
        present, passed = row[i * width], row[i * width + 1:(i + 1) * width]
        types[column] = next((kind for (kind, _), ok in zip(CANDIDATES, passed, strict=True) if ok), "VARCHAR") \
            if present else "VARCHAR"
    return types


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
