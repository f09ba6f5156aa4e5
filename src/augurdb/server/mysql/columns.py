"""From Arrow types to MySQL columns: column definitions, text cells, binary cells.

Each Arrow type family has a `Codec` in `CODECS`, picked by the first predicate that
matches. A codec says how the column is described to the client (`ColumnSpec`) and
how its values become bytes in the text protocol (always a string in MySQL's
format) and in the binary protocol (fixed-width little-endian values or strings).
Types MySQL has no column for (lists, structs, maps, ...) travel as JSON text.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from augurdb.server.mysql.constants import (
    CHARSET_BINARY,
    CHARSET_UTF8MB4,
    NOT_FIXED_DEC,
    FieldFlag,
    FieldType,
)
from augurdb.server.mysql.packets import lenenc_bytes
from augurdb.server.mysql.rows import Cells

_US_PER_DAY = 86_400_000_000
_US_PER_UNIT = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}  # ns is truncated to us first
_FSP = {"s": 0, "ms": 3, "us": 6, "ns": 6}


@dataclass(frozen=True)
class ColumnSpec:
    """How a column is described in its column-definition packet."""

    type: FieldType
    length: int
    decimals: int = 0
    flags: int = 0
    charset: int = CHARSET_BINARY


@dataclass(frozen=True)
class Codec:
    """Describe and encode one family of Arrow types."""

    spec: Callable[[pa.DataType], ColumnSpec]
    text: Callable[[pa.Array], Cells]
    binary: Callable[[pa.Array], Cells]


def column_definition(name: str, spec: ColumnSpec, *, schema: str = "", table: str = "") -> bytes:
    """A ColumnDefinition41 packet."""
    return b"".join(
        (
            lenenc_bytes(b"def"),
            lenenc_bytes(schema.encode()),
            lenenc_bytes(table.encode()),
            lenenc_bytes(table.encode()),
            lenenc_bytes(name.encode()),
            lenenc_bytes(name.encode()),
            b"\x0c",
            struct.pack("<HIBHB", spec.charset, spec.length, spec.type, spec.flags, spec.decimals),
            b"\x00\x00",
        )
    )


# ---- helpers turning Arrow arrays into Cells -------------------------------------------------


def _valid(arr: pa.Array) -> np.ndarray | None:
    return None if arr.null_count == 0 else arr.is_valid().to_numpy(zero_copy_only=False)


def string_cells(arr: pa.Array) -> Cells:
    """Length-prefixed cells straight from a string/binary array's buffers (no copy)."""
    if pa.types.is_string_view(arr.type) or pa.types.is_binary_view(arr.type):
        arr = arr.cast(pa.large_binary())
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    offset_type = np.int64 if large else np.int32
    n = len(arr)
    buffers = arr.buffers()
    if n == 0 or buffers[1] is None:
        return Cells(np.empty(0, np.uint8), np.zeros(n + 1, np.int64), _valid(arr))
    offsets = np.frombuffer(buffers[1], offset_type, count=n + 1, offset=arr.offset * offset_type().itemsize)
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    return Cells(data, offsets.astype(np.int64), _valid(arr))


def _cast_cells(target: pa.DataType | None = None) -> Callable[[pa.Array], Cells]:
    """Text cells via Arrow's own cast to string (after an optional cast to `target`)."""

    def encode(arr: pa.Array) -> Cells:
        if target is not None:
            arr = arr.cast(target)
        return string_cells(pc.cast(arr, pa.string()))

    return encode


def _numpy_cells(dtype: str, via: pa.DataType | None = None) -> Callable[[pa.Array], Cells]:
    """Binary cells: the values as little-endian `dtype`, NULLs filled (the bitmap hides them)."""

    def encode(arr: pa.Array) -> Cells:
        if via is not None:
            arr = arr.cast(via)
        values = arr.fill_null(pa.scalar(0).cast(arr.type)).to_numpy(zero_copy_only=False)
        return Cells.fixed(values.astype(dtype, copy=False), _valid(arr))

    return encode


def _micros(arr: pa.Array) -> np.ndarray:
    """Temporal values as int64 microseconds (ns truncated, NULLs as 0)."""
    unit = getattr(arr.type, "unit", "us")
    raw = arr.cast(pa.int64() if arr.type.bit_width == 64 else pa.int32()).fill_null(0)
    values = raw.to_numpy(zero_copy_only=False).astype(np.int64)
    return values // 1000 if unit == "ns" else values * _US_PER_UNIT[unit]


def _civil_date(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day for days since 1970-01-01."""
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


_DATE = np.dtype([("len", "u1"), ("year", "<u2"), ("month", "u1"), ("day", "u1")])
_DATETIME = np.dtype(
    [("len", "u1"), ("year", "<u2"), ("month", "u1"), ("day", "u1"),
     ("hour", "u1"), ("minute", "u1"), ("second", "u1"), ("micro", "<u4")]
)
_TIME = np.dtype(
    [("len", "u1"), ("negative", "u1"), ("days", "<u4"),
     ("hour", "u1"), ("minute", "u1"), ("second", "u1"), ("micro", "<u4")]
)


def _binary_date(arr: pa.Array) -> Cells:
    days = arr.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
    out = np.empty(len(arr), _DATE)
    out["len"] = 4
    out["year"], out["month"], out["day"] = _civil_date(days.astype(np.int64))
    return Cells.fixed(out, _valid(arr))


def _binary_datetime(arr: pa.Array) -> Cells:
    micros = _micros(arr)
    days, tod = np.divmod(micros, _US_PER_DAY)
    out = np.empty(len(arr), _DATETIME)
    out["len"] = 11  # always with microseconds: every client accepts the long form
    out["year"], out["month"], out["day"] = _civil_date(days)
    _split_time_of_day(out, tod)
    return Cells.fixed(out, _valid(arr))


def _binary_time(arr: pa.Array) -> Cells:
    micros = _micros(arr)
    out = np.empty(len(arr), _TIME)
    out["len"] = 12
    out["negative"] = micros < 0
    days, tod = np.divmod(np.abs(micros), _US_PER_DAY)
    out["days"] = days
    _split_time_of_day(out, tod)
    return Cells.fixed(out, _valid(arr))


def _split_time_of_day(out: np.ndarray, tod: np.ndarray) -> None:
    seconds, out["micro"] = np.divmod(tod, 1_000_000)
    minutes, out["second"] = np.divmod(seconds, 60)
    out["hour"], out["minute"] = np.divmod(minutes, 60)


def _naive_timestamp(arr: pa.Array) -> pa.Array:
    """Wall-clock timestamps (UTC for zoned ones), at most microsecond precision like DATETIME(6)."""
    unit = "us" if arr.type.unit == "ns" else arr.type.unit
    wall_clock = arr.cast(pa.int64()).cast(pa.timestamp(arr.type.unit))
    return wall_clock.cast(pa.timestamp(unit), safe=False)


def _text_timestamp(arr: pa.Array) -> Cells:
    return string_cells(pc.cast(_naive_timestamp(arr), pa.string()))


def _text_time(arr: pa.Array) -> Cells:
    if arr.type == pa.time64("ns"):
        arr = arr.cast(pa.time64("us"), safe=False)
    return string_cells(pc.cast(arr, pa.string()))


def _python_cells(render: Callable[[Any], str]) -> Callable[[pa.Array], Cells]:
    """Slow path, one Python call per value, for rare types Arrow cannot format for us."""

    def encode(arr: pa.Array) -> Cells:
        texts = [None if v is None else render(v) for v in arr.to_pylist()]
        return string_cells(pa.array(texts, pa.string()))

    return encode


def _render_duration(delta: timedelta) -> str:
    total = delta // timedelta(microseconds=1)  # exact, unlike total_seconds()
    sign = "-" if total < 0 else ""
    seconds, micro = divmod(abs(total), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = f"{sign}{hours:02d}:{minute:02d}:{second:02d}"
    return f"{text}.{micro:06d}" if micro else text


def _render_json(value: object) -> str:
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        value = dict(value)  # Arrow maps come back as lists of (key, value) pairs
    return json.dumps(value, default=str, ensure_ascii=False)


def _null_cells(arr: pa.Array) -> Cells:
    return Cells.nulls(len(arr))


# ---- the codecs -------------------------------------------------------------------------------

_INT_TYPES = {8: (FieldType.TINY, 4), 16: (FieldType.SHORT, 6), 32: (FieldType.LONG, 11), 64: (FieldType.LONGLONG, 20)}


def _int_spec(t: pa.DataType) -> ColumnSpec:
    field_type, length = _INT_TYPES[t.bit_width]
    flags = FieldFlag.UNSIGNED if pa.types.is_unsigned_integer(t) else 0
    return ColumnSpec(field_type, length, flags=int(flags))


def _int_binary(arr: pa.Array) -> Cells:
    kind = "u" if pa.types.is_unsigned_integer(arr.type) else "i"
    return _numpy_cells(f"<{kind}{arr.type.bit_width // 8}")(arr)


def _float_spec(t: pa.DataType) -> ColumnSpec:
    if t.bit_width == 64:
        return ColumnSpec(FieldType.DOUBLE, 22, NOT_FIXED_DEC)
    return ColumnSpec(FieldType.FLOAT, 12, NOT_FIXED_DEC)


def _float_binary(arr: pa.Array) -> Cells:
    if arr.type.bit_width == 64:
        return _numpy_cells("<f8")(arr)
    return _numpy_cells("<f4", via=pa.float32())(arr)


def _decimal_spec(t: pa.DataType) -> ColumnSpec:
    return ColumnSpec(FieldType.NEWDECIMAL, t.precision + 2, t.scale)


def _timestamp_spec(t: pa.DataType) -> ColumnSpec:
    fsp = _FSP[t.unit]
    return ColumnSpec(FieldType.DATETIME, 19 + (fsp + 1 if fsp else 0), fsp, flags=int(FieldFlag.BINARY))


def _time_spec(t: pa.DataType) -> ColumnSpec:
    fsp = _FSP[getattr(t, "unit", "us")]
    return ColumnSpec(FieldType.TIME, 10 + (fsp + 1 if fsp else 0), fsp, flags=int(FieldFlag.BINARY))


def _constant(spec: ColumnSpec) -> Callable[[pa.DataType], ColumnSpec]:
    return lambda _t: spec


_TEXT = ColumnSpec(FieldType.VAR_STRING, 1020, charset=CHARSET_UTF8MB4)  # 255 chars x 4 bytes
_BLOB = ColumnSpec(FieldType.BLOB, 65535, flags=int(FieldFlag.BINARY | FieldFlag.BLOB))
_BOOL = ColumnSpec(FieldType.TINY, 1)
_DATE_SPEC = ColumnSpec(FieldType.DATE, 10, flags=int(FieldFlag.BINARY))
_JSON_TEXT = _python_cells(_render_json)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)


CODECS: list[tuple[Callable[[pa.DataType], bool], Codec]] = [
    (pa.types.is_boolean, Codec(_constant(_BOOL), _cast_cells(pa.int8()), _numpy_cells("<i1", pa.int8()))),
    (pa.types.is_integer, Codec(_int_spec, _cast_cells(), _int_binary)),
    (pa.types.is_floating, Codec(_float_spec, _cast_cells(), _float_binary)),
    (pa.types.is_decimal, Codec(_decimal_spec, _cast_cells(), _cast_cells())),
    (_is_text, Codec(_constant(_TEXT), string_cells, string_cells)),
    (_is_binary, Codec(_constant(_BLOB), string_cells, string_cells)),
    (pa.types.is_fixed_size_binary, Codec(_constant(_BLOB), _cast_cells(pa.binary()), _cast_cells(pa.binary()))),
    (pa.types.is_date, Codec(_constant(_DATE_SPEC), _cast_cells(), _binary_date)),
    (pa.types.is_timestamp, Codec(_timestamp_spec, _text_timestamp, _binary_datetime)),
    (pa.types.is_time, Codec(_time_spec, _text_time, _binary_time)),
    (pa.types.is_duration, Codec(_time_spec, _python_cells(_render_duration), _binary_time)),
    (pa.types.is_null, Codec(_constant(ColumnSpec(FieldType.NULL, 0)), _null_cells, _null_cells)),
]
"""Arrow type family -> codec, first match wins; anything else is sent as JSON text."""
_FALLBACK = Codec(_constant(_TEXT), _JSON_TEXT, _JSON_TEXT)


def codec_for(arrow_type: pa.DataType) -> Codec:
    """The codec of the first family `arrow_type` belongs to; JSON text when none does."""
    for matches, codec in CODECS:
        if matches(arrow_type):
            return codec
    return _FALLBACK


def plain_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Dictionary and extension arrays as their plain value arrays (what the codecs expect)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def plain_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type `plain_array` turns a column of `arrow_type` into."""
    if isinstance(arrow_type, pa.ExtensionType):
        arrow_type = arrow_type.storage_type
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return arrow_type
