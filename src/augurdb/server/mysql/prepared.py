"""Server-side prepared statements, done by interpolation.

The engine has no notion of bound parameters, so COM_STMT_PREPARE only finds the
`?` placeholders, and COM_STMT_EXECUTE decodes the binary parameter values and
writes each one into the SQL text as a correctly escaped MySQL literal before the
statement runs like any other (sql/params.py, which the embedded DB-API binds with too).
The result comes back in the binary protocol.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from augurdb.server.mysql.columns import ColumnSpec, column_definition
from augurdb.server.mysql.constants import CHARSET_UTF8MB4, FieldType
from augurdb.server.mysql.packets import MalformedPacket, PayloadReader, eof_packet
from augurdb.sql.params import bind
from augurdb.sql.params import (
    placeholder_positions as placeholder_positions,  # connection.py prepares with it
)


class UnknownStatement(Exception):
    """A statement id the client never prepared, or already closed."""

    def __init__(self, stmt_id: int):
        super().__init__(stmt_id)
        self.stmt_id = stmt_id


@dataclass
class PreparedStatement:
    """One COM_STMT_PREPARE: the SQL, where its placeholders are, and the last bound types."""

    id: int
    sql: str
    positions: list[int]
    param_types: list[tuple[int, bool]] | None = None
    long_data: dict[int, bytearray] = field(default_factory=dict)

    def render(self, params: list[object]) -> str:
        """The SQL with every placeholder replaced by its parameter as a literal."""
        return bind(self.sql, params, self.positions)


def prepare_ok(stmt: PreparedStatement, deprecate_eof: bool) -> list[bytes]:
    """The COM_STMT_PREPARE answer: statement id, counts, one definition per parameter.

    We cannot know the result columns without running the statement, so we announce
    none; clients take the columns sent with each execute's result set.
    """
    n = len(stmt.positions)
    packets = [struct.pack("<BIHHBH", 0, stmt.id, 0, n, 0, 0)]
    if n:
        param = column_definition("?", ColumnSpec(FieldType.VAR_STRING, 0, charset=CHARSET_UTF8MB4))
        packets += [param] * n
        if not deprecate_eof:
            packets.append(eof_packet())
    return packets


# ---- decoding COM_STMT_EXECUTE parameters ------------------------------------------------------


def _int(size: int) -> Callable[[PayloadReader, bool], object]:
    def decode(r: PayloadReader, unsigned: bool) -> object:
        return int.from_bytes(r.take(size), "little", signed=not unsigned)

    return decode


def _float(fmt: str) -> Callable[[PayloadReader, bool], object]:
    size = struct.calcsize(fmt)
    return lambda r, _unsigned: struct.unpack(fmt, r.take(size))[0]


def _temporal(r: PayloadReader, _unsigned: bool) -> object:
    raw = PayloadReader(r.take(r.uint(1)))
    if not raw.remaining():
        return "0000-00-00 00:00:00"  # MySQL's zero date has no Python equivalent
    year, month, day = raw.uint(2), raw.uint(1), raw.uint(1)
    if not raw.remaining():
        return date(year, month, day)
    hour, minute, second = raw.uint(1), raw.uint(1), raw.uint(1)
    micro = raw.uint(4) if raw.remaining() else 0
    return datetime(year, month, day, hour, minute, second, micro)


def _time(r: PayloadReader, _unsigned: bool) -> object:
    raw = PayloadReader(r.take(r.uint(1)))
    if not raw.remaining():
        return timedelta(0)
    negative, days = raw.uint(1), raw.uint(4)
    hour, minute, second = raw.uint(1), raw.uint(1), raw.uint(1)
    micro = raw.uint(4) if raw.remaining() else 0
    delta = timedelta(days=days, hours=hour, minutes=minute, seconds=second, microseconds=micro)
    return -delta if negative else delta


def _text(r: PayloadReader, _unsigned: bool) -> object:
    return _text_or_bytes(r.lenenc_bytes())


def _blob(r: PayloadReader, _unsigned: bool) -> object:
    return r.lenenc_bytes()


def _decimal(r: PayloadReader, _unsigned: bool) -> object:
    raw = r.lenenc_bytes()
    try:
        return Decimal(raw.decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):
        return _text_or_bytes(raw)


def _text_or_bytes(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


_DECODERS: dict[int, Callable[[PayloadReader, bool], object]] = {
    FieldType.TINY: _int(1),
    FieldType.SHORT: _int(2),
    FieldType.YEAR: _int(2),
    FieldType.LONG: _int(4),
    FieldType.INT24: _int(4),
    FieldType.LONGLONG: _int(8),
    FieldType.FLOAT: _float("<f"),
    FieldType.DOUBLE: _float("<d"),
    FieldType.NULL: lambda _r, _u: None,
    FieldType.DATE: _temporal,
    FieldType.DATETIME: _temporal,
    FieldType.TIMESTAMP: _temporal,
    FieldType.TIME: _time,
    FieldType.DECIMAL: _decimal,
    FieldType.NEWDECIMAL: _decimal,
    **{t: _text for t in (FieldType.VARCHAR, FieldType.VAR_STRING, FieldType.STRING, FieldType.ENUM,
                          FieldType.SET, FieldType.JSON)},
    **{t: _blob for t in (FieldType.TINY_BLOB, FieldType.MEDIUM_BLOB, FieldType.LONG_BLOB, FieldType.BLOB,
                          FieldType.BIT, FieldType.GEOMETRY)},
}


def decode_execute(payload: bytes, statements: dict[int, PreparedStatement]) -> tuple[PreparedStatement, list[object]]:
    """Statement and parameter values of a COM_STMT_EXECUTE payload (after the command byte).

    Raises UnknownStatement for an id never prepared and MalformedPacket for bad contents.
    """
    r = PayloadReader(payload)
    stmt_id = r.uint(4)
    if stmt_id not in statements:
        raise UnknownStatement(stmt_id)
    stmt = statements[stmt_id]
    r.uint(1)  # cursor flags: we always send all rows at once, which clients accept
    r.uint(4)  # iteration count, always 1
    n = len(stmt.positions)
    if not n:
        return stmt, []
    nulls = int.from_bytes(r.take((n + 7) // 8), "little")
    if r.uint(1):
        stmt.param_types = [(r.uint(1), bool(r.uint(1) & 0x80)) for _ in range(n)]
    if stmt.param_types is None:
        raise MalformedPacket("parameters were never bound")
    params: list[object] = []
    for i, (field_type, unsigned) in enumerate(stmt.param_types):
        if nulls >> i & 1:
            params.append(None)
        elif i in stmt.long_data:
            raw = bytes(stmt.long_data[i])
            params.append(raw if _DECODERS.get(field_type) is _blob else _text_or_bytes(raw))
        else:
            decoder = _DECODERS.get(field_type)
            if decoder is None:
                raise MalformedPacket(f"unsupported parameter type {field_type}")
            params.append(decoder(r, unsigned))
    stmt.long_data.clear()
    return stmt, params
