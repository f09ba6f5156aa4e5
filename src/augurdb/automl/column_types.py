"""The column types the engine infers, and which of them are modelled or dropped."""

from __future__ import annotations

INTEGER = "integer"
FLOAT = "float"
QUANTITY = "quantity"  # numbers written as text with units or separators: "$1,200", "640,56", "12 kg"
BINARY = "binary"
CATEGORICAL = "categorical"
DATE = "date"
DATETIME = "datetime"
SHORT_TEXT = "short_text"
RICH_TEXT = "rich_text"
ARRAY = "array"
IDENTIFIER = "identifier"  # dropped: unique per row, carries no signal that generalises
CONSTANT = "constant"  # dropped: one value (or none) in every row

NUMERIC_TYPES = frozenset({INTEGER, FLOAT, QUANTITY})
CLASS_TYPES = frozenset({BINARY, CATEGORICAL})
DATE_TYPES = frozenset({DATE, DATETIME})
TEXT_TYPES = frozenset({SHORT_TEXT, RICH_TEXT})
DROPPED_TYPES = frozenset({IDENTIFIER, CONSTANT})
ALL_TYPES = NUMERIC_TYPES | CLASS_TYPES | DATE_TYPES | TEXT_TYPES | {ARRAY} | DROPPED_TYPES
# Types a target may have: numbers are regressed, classes classified.
TARGET_TYPES = NUMERIC_TYPES | CLASS_TYPES
