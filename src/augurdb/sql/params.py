"""Query parameters written into SQL text: where the `?` placeholders are, and values as literals.

The engine has no bound parameters, so the embedded DB-API and the MySQL server's prepared
statements both bind by writing each value into the text as a MySQL literal. One scanner finds
the placeholders for both: a `?` inside a string, a quoted identifier or a comment is text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import singledispatch

from augurdb.errors import WrongArguments

# Strings ('' and \' escapes), backticks, `-- `, `#` and `/* */` comments are skipped whole; a
# string or comment left open runs to the end of the text, as MySQL reads it.
_SKIP_OR_PLACEHOLDER = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'? | "(?:[^"\\]|\\.|"")*"? | `(?:[^`]|``)*`?
      | --[ \t][^\n]* | --$ | \#[^\n]* | /\*.*?(?:\*/|$) | (\?)""",
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)


def placeholder_positions(sql: str) -> list[int]:
    """Offsets of the `?` placeholders outside quotes, backticks and comments."""
    return [m.start(1) for m in _SKIP_OR_PLACEHOLDER.finditer(sql) if m.group(1)]


def bind(sql: str, params: Sequence[object], positions: list[int] | None = None) -> str:
    """The SQL with each placeholder replaced by the next parameter as a literal."""
    positions = placeholder_positions(sql) if positions is None else positions
    if len(positions) != len(params):
        raise WrongArguments(f"The statement has {len(positions)} '?' placeholder(s) and "
                             f"{len(params)} parameter(s) were given")
    pieces, last = [], 0
    for pos, value in zip(positions, params, strict=True):
        pieces += [sql[last:pos], sql_literal(value)]
        last = pos + 1
    pieces.append(sql[last:])
    return "".join(pieces)


_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", '"': '\\"', "\0": "\\0", "\n": "\\n", "\r": "\\r",
                          "\x1a": "\\Z"})


@singledispatch
def sql_literal(value: object) -> str:
    """`value` as a MySQL literal that parses back to exactly the same value."""
    return _quote(str(value))


@sql_literal.register
def _(value: None) -> str:
    return "NULL"


@sql_literal.register
def _(value: bool) -> str:
    return "TRUE" if value else "FALSE"


@sql_literal.register
def _(value: int) -> str:
    return f"({value})" if value < 0 else str(value)  # parentheses keep `x-?` from turning into `x--1`


@sql_literal.register
def _(value: float) -> str:
    if not math.isfinite(value):
        return _quote(repr(value))
    text = repr(value)
    if "e" not in text:
        text += "e0"  # with an exponent MySQL reads a DOUBLE; `2.5` alone would be a DECIMAL
    return f"({text})" if value < 0 else text


@sql_literal.register
def _(value: Decimal) -> str:
    return _quote(str(value)) if not value.is_finite() else f"({value})" if value < 0 else str(value)


@sql_literal.register
def _(value: str) -> str:
    return _quote(value)


@sql_literal.register
def _(value: bytes) -> str:
    return f"X'{value.hex()}'"


@sql_literal.register
def _(value: date) -> str:
    return f"CAST('{value.isoformat()}' AS DATE)"


@sql_literal.register
def _(value: datetime) -> str:
    return f"CAST('{value.isoformat(sep=' ')}' AS DATETIME)"


@sql_literal.register
def _(value: time) -> str:
    return f"CAST('{value.isoformat()}' AS TIME)"


@sql_literal.register
def _(value: timedelta) -> str:
    micros = value // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    seconds, micro = divmod(abs(micros), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"CAST('{sign}{hours:02d}:{minute:02d}:{second:02d}.{micro:06d}' AS TIME)"


def _quote(text: str) -> str:
    return "'" + text.translate(_ESCAPES) + "'"
