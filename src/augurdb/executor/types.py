"""How Arrow types are named in MySQL's vocabulary (SHOW COLUMNS, information_schema, SHOW CREATE TABLE)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.types as pt

_NUMERIC_DTYPES = {"integer", "float", "quantity", "numeric", "number", "int", "double"}


def mysql_type(dtype: pa.DataType) -> str:
    """The column type MySQL would show for an Arrow type."""
    if pt.is_boolean(dtype):
        return "tinyint(1)"
    if pt.is_integer(dtype):
        name = {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}[dtype.bit_width]
        return f"{name} unsigned" if pt.is_unsigned_integer(dtype) else name
    if pt.is_float32(dtype):
        return "float"
    if pt.is_floating(dtype):
        return "double"
    if pt.is_decimal(dtype):
        return f"decimal({dtype.precision},{dtype.scale})"
    if pt.is_string(dtype) or pt.is_large_string(dtype) or pt.is_string_view(dtype):
        return "text"
    if pt.is_binary(dtype) or pt.is_large_binary(dtype) or pt.is_fixed_size_binary(dtype):
        return "blob"
    if pt.is_date(dtype):
        return "date"
    if pt.is_timestamp(dtype):
        return "datetime"
    if pt.is_time(dtype):
        return "time"
    if pt.is_null(dtype):
        return "text"
    return "json"


def data_type(dtype: pa.DataType) -> str:
    """information_schema DATA_TYPE: the type name without length or sign."""
    return mysql_type(dtype).split("(")[0].split(" ")[0]


# NUMERIC_PRECISION MySQL 8 shows for each integer and floating type (digits; float and double: bits of mantissa).
_PRECISION = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19, "bigint unsigned": 20, "float": 12,
              "double": 22}
_TEXT_LENGTH = 65535  # TEXT and BLOB hold 65,535 bytes


def column_facts(dtype: pa.DataType) -> dict[str, int | str | None]:
    """information_schema.COLUMNS's length, precision and character set columns for a type,
    filled as MySQL 8 fills them for the type mysql_type() names (NULL where it does not apply)."""
    column_type, kind = mysql_type(dtype), data_type(dtype)
    text, binary = kind == "text", kind == "blob"
    name = column_type.split("(")[0]
    precision = dtype.precision if pt.is_decimal(dtype) else \
        _PRECISION.get(name, _PRECISION.get(name.removesuffix(" unsigned")))
    scale = dtype.scale if pt.is_decimal(dtype) else 0 if pt.is_integer(dtype) or pt.is_boolean(dtype) else None
    return {
        "CHARACTER_MAXIMUM_LENGTH": _TEXT_LENGTH if text or binary else None,
        "CHARACTER_OCTET_LENGTH": _TEXT_LENGTH if text or binary else None,
        "NUMERIC_PRECISION": precision,
        "NUMERIC_SCALE": scale,
        "DATETIME_PRECISION": 0 if kind in ("datetime", "time") else None,
        "CHARACTER_SET_NAME": "utf8mb4" if text else None,
        "COLLATION_NAME": "utf8mb4_0900_ai_ci" if text else None,
    }


def arrow_type_of_dtype(dtype: str | None) -> pa.DataType:
    """The Arrow type of a model column from the engine's inferred type name."""
    kind = (dtype or "").lower()
    if kind in ("integer", "int"):
        return pa.int64()
    if kind in _NUMERIC_DTYPES:
        return pa.float64()
    if kind == "binary":
        return pa.string()
    if kind in ("date",):
        return pa.date32()
    if kind in ("datetime",):
        return pa.timestamp("us")
    return pa.string()


def is_numeric_dtype(dtype: str | None) -> bool:
    return (dtype or "").lower() in _NUMERIC_DTYPES
