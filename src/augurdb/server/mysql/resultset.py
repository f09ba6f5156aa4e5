"""Sending a `Result`: an OK packet, or a result set in the text or binary protocol.

A result set is: column count, one column definition per column, (EOF unless the
client set DEPRECATE_EOF), the rows, then EOF (or an OK with header 0xFE). Rows are
encoded in slices of a few MB on the worker pool and written with back-pressure
(`drain`), so big results use bounded memory and never stall other connections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

import pyarrow as pa

from augurdb.errors import AugurError
from augurdb.result import Result
from augurdb.server.mysql.columns import Codec, codec_for, column_definition, plain_array, plain_type
from augurdb.server.mysql.packets import PacketStream, eof_packet, err_packet, lenenc_int, ok_packet
from augurdb.server.mysql.rows import binary_row_header, encode_rows

T = TypeVar("T")
Offload = Callable[[Callable[[], T]], Awaitable[T]]
"""Runs a blocking function on the worker pool and awaits its result."""

_SLICE_BYTES = 4 << 20  # aim for ~4 MB of Arrow data per encoded slice
_MIN_SLICE_ROWS, _MAX_SLICE_ROWS = 256, 65536


class ResultStreamBroken(Exception):
    """Encoding failed after part of a result set was sent: the connection cannot be resynchronised."""


def end_of_rows(deprecate_eof: bool, warnings: int = 0) -> bytes:
    """The packet that closes a list of column definitions or rows."""
    return ok_packet(header=0xFE, warnings=warnings) if deprecate_eof else eof_packet(warnings=warnings)


def encode_slice(columns: Sequence[pa.Array], codecs: Sequence[Codec], seq: int, binary: bool) -> tuple[memoryview, int]:
    """Framed row packets for equally long `columns`, starting at sequence id `seq`."""
    if binary:
        cells = [codec.binary(plain_array(col)) for col, codec in zip(columns, codecs, strict=True)]
        cells.insert(0, binary_row_header(cells))
        return encode_rows(cells, seq, null_marker=False)
    cells = [codec.text(plain_array(col)) for col, codec in zip(columns, codecs, strict=True)]
    return encode_rows(cells, seq, null_marker=True)


def rows_per_slice(table: pa.Table) -> int:
    """How many rows to encode at once so one slice holds about `_SLICE_BYTES` of data."""
    per_row = max(1, table.nbytes // max(1, table.num_rows))
    return max(_MIN_SLICE_ROWS, min(_MAX_SLICE_ROWS, _SLICE_BYTES // per_row))


async def send_result(stream: PacketStream, result: Result, *, binary: bool, deprecate_eof: bool,
                      offload: Offload) -> None:
    """Write `result` to the client and flush; a streamed result is encoded batch by batch."""
    warnings = len(result.warnings)
    schema = result.schema
    if schema is None or len(schema) == 0:
        stream.write(ok_packet(result.affected_rows, warnings=warnings, info=result.info))
        await stream.flush()
        return
    types = [plain_type(field.type) for field in schema]
    codecs = [codec_for(t) for t in types]
    stream.write(lenenc_int(len(schema)))
    for field, codec, arrow_type in zip(schema, codecs, types, strict=True):
        stream.write(column_definition(field.name, codec.spec(arrow_type)))
    if not deprecate_eof:
        stream.write(eof_packet())
    small = result.small_table
    if small is not None:  # encoding it here costs less than a hand-off to a worker thread
        if small.num_rows:
            data, seq = encode_slice(small.columns, codecs, stream.seq, binary)
            stream.write_raw(data, seq)
        stream.write(end_of_rows(deprecate_eof, warnings))
        await stream.flush()
        return
    sent = 0
    batches = result.batches()
    while True:
        try:  # a stream computes its next batch (a source read, a prediction) off the event loop
            batch = await offload(partial(next, batches, None))
        except AugurError as error:
            # MySQL's own way to fail part way through rows: an ERR packet in place of the next row.
            stream.write(err_packet(error.code, error.sqlstate, f"{error.message} (after {sent} rows)"))
            await stream.flush()
            return
        except Exception as exc:
            raise ResultStreamBroken(f"computing rows after row {sent} failed: {exc}") from exc
        if batch is None:
            break
        table = pa.Table.from_batches([batch])
        step = rows_per_slice(table)
        for start in range(0, table.num_rows, step):
            part = table.slice(start, step)
            try:
                data, seq = await offload(partial(encode_slice, part.columns, codecs, stream.seq, binary))
            except Exception as exc:
                raise ResultStreamBroken(f"encoding rows {sent + start}..{sent + start + part.num_rows} failed: "
                                         f"{exc}") from exc
            stream.write_raw(data, seq)
            await stream.flush()
        sent += table.num_rows
    stream.write(end_of_rows(deprecate_eof, warnings))
    await stream.flush()
