"""DuckDB's errors told in MySQL's terms: the code MySQL gives the same mistake, and a message
in its words, never DuckDB's class prefix ("Binder Error: ...") as the whole text.

Each rule is (DuckDB exception class, pattern on its first line, error factory). The first rule
that matches decides; an error no rule knows keeps DuckDB's text without its prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import duckdb

from augurdb.errors import AugurError, ParseError, UnknownColumn, UnknownTable, WrongArguments

# DuckDB's names for types, as MySQL users know them.
_TYPE_NAMES = {"INT8": "TINYINT", "INT16": "SMALLINT", "INT32": "INTEGER", "INT64": "BIGINT",
               "HUGEINT": "BIGINT", "INT128": "BIGINT", "VARCHAR": "VARCHAR", "STRING": "VARCHAR",
               "FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "BOOLEAN": "BOOLEAN"}


def mysql_type(duckdb_type: str) -> str:
    """INTEGER_LITERAL -> INTEGER, INT64 -> BIGINT, STRING_LITERAL -> VARCHAR."""
    name = duckdb_type.strip().removesuffix("_LITERAL")
    return _TYPE_NAMES.get(name, name)


def _types_in(text: str) -> str:
    return re.sub(r"[A-Z][A-Z0-9_]*", lambda m: mysql_type(m.group(0)), text)


Rule = tuple[type[duckdb.Error], re.Pattern[str], Callable[[re.Match[str]], AugurError]]

_TABLE_AS_VALUE = ("Operand should contain 1 column(s): a table's name (or ROW(...)) stands where one value "
                   "belongs")

_RULES: list[Rule] = [
    # DuckDB reads a table's name used as a value as that table's row, a STRUCT.
    (duckdb.BinderException, re.compile(r"Cannot (?:mix|compare|combine) (?:values of )?types? .*STRUCT\("),
     lambda m: AugurError(_TABLE_AS_VALUE, code=1241, sqlstate="21000")),
    (duckdb.ConversionException, re.compile(r"can't be cast to the destination type STRUCT\("),
     lambda m: AugurError(_TABLE_AS_VALUE, code=1241, sqlstate="21000")),
    (duckdb.BinderException, re.compile(r'Referenced column "?([^"]+?)"? (?:was )?not found'),
     lambda m: UnknownColumn(f"Unknown column '{m.group(1)}' in 'field list'")),
    (duckdb.BinderException, re.compile(r'Column "([^"]+)" referenced that exists in the SELECT clause - but'),
     lambda m: UnknownColumn(f"Unknown column '{m.group(1)}' in 'field list': an alias is known only "
                             "after the column that defines it")),
    (duckdb.BinderException, re.compile(r"DECIMAL type scale cannot be greater than width"),
     lambda m: AugurError("For DECIMAL(M,D), M must be >= D", code=1427, sqlstate="42000")),
    (duckdb.BinderException, re.compile(r'(?:Table|Values list) "([^"]+)" does not have a column named "([^"]*)"'),
     lambda m: UnknownColumn(f"Unknown column '{m.group(1)}.{m.group(2)}' in 'field list'")),
    (duckdb.BinderException, re.compile(r'Referenced table "?([^"]+?)"? not found'),
     lambda m: AugurError(f"Unknown table '{m.group(1)}' in field list", code=1109, sqlstate="42S02")),
    (duckdb.BinderException, re.compile(r'Ambiguous reference to column name "([^"]+)"'),
     lambda m: AugurError(f"Column '{m.group(1)}' in field list is ambiguous", code=1052, sqlstate="23000")),
    (duckdb.BinderException, re.compile(r'column "([^"]+)" must appear in the GROUP BY clause'),
     lambda m: AugurError(f"'{m.group(1)}' isn't in GROUP BY: group by it or use it inside an aggregate "
                          "function", code=1055, sqlstate="42000")),
    (duckdb.BinderException, re.compile(r"(ORDER|GROUP)(?: BY)? term out of range - should be between 1 and (\d+)"),
     lambda m: UnknownColumn(f"Unknown column position in '{m.group(1).lower()} by': the select list has "
                             f"{m.group(2)} column{'s' if m.group(2) != '1' else ''}")),
    (duckdb.BinderException, re.compile(r"aggregate function calls cannot be nested|"
                                        r"(WHERE|JOIN) clause cannot contain aggregates"),
     lambda m: AugurError("Invalid use of group function", code=1111)),
    (duckdb.BinderException, re.compile(r"GROUP BY clause cannot contain aggregates"),
     lambda m: AugurError("Can't group on an aggregate function", code=1056, sqlstate="42000")),
    (duckdb.InvalidInputException, re.compile(r"Values were not provided for the following parameters"),
     lambda m: ParseError("A '?' placeholder outside a prepared statement: give the value itself, or "
                          "PREPARE the statement and EXECUTE it USING the values")),
    (duckdb.BinderException, re.compile(r"STAR expression is (?:only allowed as the root|not supported)|"
                                        r"cannot be applied to a star expression"),
     lambda m: ParseError("'*' can only stand alone in the select list (or as table.*)")),
    (duckdb.BinderException, re.compile(r'Type "(\w+)" does not accept type parameters|'
                                        r'Type parameter "\w+" for type "(\w+)" cannot be NULL'),
     lambda m: ParseError(f"{m.group(1) or m.group(2)}(M,D) takes whole numbers for M and D")),
    (duckdb.BinderException, re.compile(r"LIMIT/OFFSET cannot be negative"),
     lambda m: ParseError("LIMIT and OFFSET take whole numbers of 0 or more")),
    (duckdb.BinderException, re.compile(r"Set operations can only apply to expressions with the same number"),
     lambda m: AugurError("The used SELECT statements have a different number of columns",
                          code=1222, sqlstate="21000")),
    (duckdb.BinderException, re.compile(r"\* expression without FROM clause"),
     lambda m: AugurError("No tables used", code=1096)),
    (duckdb.BinderException, re.compile(r"Cannot compare values of type (\w+) and type (\w+)"),
     lambda m: WrongArguments(f"Cannot compare {mysql_type(m.group(1))} with {mysql_type(m.group(2))}: "
                              "CAST one side to the other's type")),
    (duckdb.BinderException, re.compile(r"Cannot mix values of type (\w+) and (\w+) in BETWEEN clause"),
     lambda m: WrongArguments(f"Cannot compare {mysql_type(m.group(1))} with {mysql_type(m.group(2))} in "
                              "BETWEEN: CAST one side to the other's type")),
    (duckdb.BinderException, re.compile(r"Cannot mix values of type (\w+) and (\w+) in (\w+)"),
     lambda m: WrongArguments(f"Cannot mix {mysql_type(m.group(1))} with {mysql_type(m.group(2))} in "
                              f"{m.group(3)}: CAST one to the other's type")),
    # `a.b` where `a` is a column: DuckDB reads it as a field of a struct.
    (duckdb.BinderException, re.compile(r"""Cannot extract field '([^']+)' from expression "?(.+?)"? because"""),
     lambda m: UnknownColumn(f"Unknown column '{m.group(2).strip(chr(34))}.{m.group(1)}' in 'field list'")),
    (duckdb.BinderException, re.compile(r"No function matches the given name and argument types '([^(']+)\((.*?)\)'"),
     lambda m: WrongArguments(f"Incorrect arguments to {m.group(1)}: no form of it takes "
                              f"({_types_in(m.group(2))})")),
    (duckdb.BinderException, re.compile(r'best candidate function for the function call "([^"(]+)\((.*?)\)"'),
     lambda m: WrongArguments(f"Incorrect arguments to {m.group(1)}: the types ({_types_in(m.group(2))}) "
                              "are ambiguous; CAST the arguments")),
    (duckdb.CatalogException, re.compile(r"Function with name (\w+) does not exist"),
     lambda m: AugurError(f"FUNCTION {m.group(1)} does not exist", code=1305, sqlstate="42000")),
    (duckdb.InvalidInputException, re.compile(r"More than one row returned by a subquery"),
     lambda m: AugurError("Subquery returns more than 1 row", code=1242, sqlstate="21000")),
    (duckdb.ConversionException, re.compile(r"Could not convert string '(.*)' to (\w+)"),
     lambda m: AugurError(f"Truncated incorrect {mysql_type(m.group(2))} value: '{m.group(1)}'",
                          code=1292, sqlstate="22007")),
    (duckdb.OutOfRangeException, re.compile(r"Overflow in \w+ of (\w+) \((.*)\)"),
     lambda m: AugurError(f"{mysql_type(m.group(1))} value is out of range in '({m.group(2)})'",
                          code=1690, sqlstate="22003")),
]

_PREFIX = re.compile(r"^[A-Z][A-Za-z ]* Error: ")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def as_mysql_error(error: duckdb.Error) -> AugurError:
    """The error a MySQL client gets for DuckDB's `error`."""
    line = first_line(error)
    for kind, pattern, make in _RULES:
        if isinstance(error, kind):
            match = pattern.search(line)
            if match:
                return make(match)
    message = _PREFIX.sub("", line)
    if isinstance(error, duckdb.CatalogException):
        return UnknownTable(message)
    if isinstance(error, duckdb.ParserException):
        return ParseError(message)
    if isinstance(error, duckdb.ConversionException):
        return AugurError(message, code=1292, sqlstate="22007")
    if isinstance(error, duckdb.OutOfRangeException):
        return AugurError(message, code=1690, sqlstate="22003")
    return AugurError(message)
