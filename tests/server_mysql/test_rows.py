"""The vectorised row encoder against a plain per-row reference implementation."""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa

from augurdb.server.mysql.columns import codec_for, string_cells
from augurdb.server.mysql.packets import PayloadReader, frame, lenenc_bytes
from augurdb.server.mysql.resultset import encode_slice
from augurdb.server.mysql.rows import binary_row_header, encode_rows


def reference_text_rows(columns: list[list[bytes | None]], seq: int) -> bytes:
    out = []
    for row in zip(*columns, strict=True):
        payload = b"".join(b"\xfb" if v is None else lenenc_bytes(v) for v in row)
        data, seq = frame(payload, seq)
        out.append(data)
    return b"".join(out)


def read_text_cell(row: PayloadReader) -> bytes | None:
    length = row.lenenc_int()
    return None if length is None else row.take(length)


def test_text_rows_match_reference_for_all_prefix_widths() -> None:
    values = [b"", b"a", None, b"x" * 250, b"y" * 251, b"z" * 70000, None, "é".encode() * 3]
    other = [None, b"1", b"22", None, b"333", b"", b"4", b"5"]
    arrays = [pa.array(values, pa.binary()), pa.array(other, pa.large_binary())]
    data, seq = encode_rows([string_cells(a) for a in arrays], 250, null_marker=True)
    assert bytes(data) == reference_text_rows([values, other], 250)
    assert seq == (250 + len(values)) & 0xFF


def test_sliced_arrays_use_their_offset() -> None:
    arr = pa.array(["skip", None, "b", "cc"]).slice(1)
    data, _ = encode_rows([string_cells(arr)], 0, null_marker=True)
    assert bytes(data) == reference_text_rows([[None, b"b", b"cc"]], 0)


def test_nulls_with_garbage_bytes_are_skipped() -> None:
    # A NULL slot may still own bytes in the data buffer (Arrow allows it); they must not leak out.
    offsets = pa.py_buffer(np.array([0, 2, 5, 6], np.int32).tobytes())
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    arr = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, pa.py_buffer(b"abXYZc")], null_count=1)
    data, _ = encode_rows([string_cells(arr)], 0, null_marker=True)
    assert bytes(data) == reference_text_rows([[b"ab", None, b"c"]], 0)


def test_rows_over_16mb_are_split() -> None:
    big = b"q" * (0xFFFFFF + 10)
    values = [b"small", big, b"after"]
    data, seq = encode_rows([string_cells(pa.array(values, pa.binary()))], 7, null_marker=True)
    assert bytes(data) == reference_text_rows([values], 7)
    assert seq == 7 + 4  # the big row takes two packets


def test_text_formats() -> None:
    table = pa.table(
        {
            "f": pa.array([0.1, 1.0, None, 1e20]),
            "b": pa.array([True, False, None, True]),
            "ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 6)] * 4, pa.timestamp("ns", tz="UTC")),
            "d": pa.array([datetime.date(1999, 12, 31)] * 4),
            "l": pa.array([[1, 2], None, [], [3]]),
        }
    )
    codecs = [codec_for(f.type) for f in table.schema]
    data, _ = encode_slice(table.columns, codecs, 0, binary=False)
    r = PayloadReader(bytes(data))
    rows = []
    for _ in range(4):
        length = r.uint(3)
        r.uint(1)
        row = PayloadReader(r.take(length))
        rows.append([read_text_cell(row) for _ in range(5)])
    assert rows[0] == [b"0.1", b"1", b"2024-01-02 03:04:05.000006", b"1999-12-31", b"[1, 2]"]
    assert rows[2][:2] == [None, None] and rows[1][4] is None
    assert rows[3][0] == b"1e+20"


def test_binary_rows_match_reference() -> None:
    ints = pa.array([1, None, -2], pa.int64())
    names = pa.array(["a", "bb", None])
    when = pa.array([datetime.datetime(2020, 5, 6, 7, 8, 9, 10), None, datetime.datetime(1969, 12, 31, 23, 59, 59)])
    columns = [codec_for(a.type).binary(a) for a in (ints, names, when)]
    data, seq = encode_rows([binary_row_header(columns), *columns], 3, null_marker=False)
    # NULL bitmap: column i is bit i + 2.
    expected = [
        b"\x00\x00" + (1).to_bytes(8, "little", signed=True) + b"\x01a"
        + bytes([11]) + (2020).to_bytes(2, "little") + bytes([5, 6, 7, 8, 9]) + (10).to_bytes(4, "little"),
        b"\x00\x14" + b"\x02bb",
        b"\x00\x08" + (-2).to_bytes(8, "little", signed=True) + bytes([11]) + (1969).to_bytes(2, "little")
        + bytes([12, 31, 23, 59, 59]) + b"\x00" * 4,
    ]
    reference, next_seq = b"", 3
    for payload in expected:
        packet, next_seq = frame(payload, next_seq)
        reference += packet
    assert bytes(data) == reference and seq == next_seq
