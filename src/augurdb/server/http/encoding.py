"""Arrow results as MindsDB-shaped JSON, JSON lines, Arrow IPC or Parquet."""

from __future__ import annotations

import base64
import datetime
import decimal
import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"


def json_value(value: Any) -> Any:
    """A JSON-able form of a value Arrow hands back."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and value != value:
        return None
    return value


def rows(table: pa.Table) -> list[list[Any]]:
    """Rows as lists, converted column by column (much faster than row dicts)."""
    columns = []
    for column in table.columns:
        values = column.to_pylist()
        if not (pa.types.is_integer(column.type) or pa.types.is_string(column.type)
                or pa.types.is_boolean(column.type)):
            values = [json_value(v) for v in values]
        columns.append(values)
    return [list(r) for r in zip(*columns, strict=True)] if columns else []


def records(table: pa.Table) -> list[dict[str, Any]]:
    names = table.column_names
    return [dict(zip(names, r, strict=True)) for r in rows(table)]


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=json_value, allow_nan=False).encode()


def arrow_ipc_stream(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """An Arrow IPC stream, one message at a time: a streamed result is never held whole."""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            for start in range(0, batch.num_rows, 65_536):
                writer.write_batch(batch.slice(start, 65_536))
                yield _drain(sink)
    yield _drain(sink)


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def json_lines(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """JSON lines: `{"type": "table", "column_names": [...]}`, then one line per row (a JSON array of
    its values), written batch by batch."""
    yield dumps({"type": "table", "column_names": schema.names}) + b"\n"
    for batch in batches:
        yield b"".join(dumps(row) + b"\n" for row in rows(pa.Table.from_batches([batch])))
