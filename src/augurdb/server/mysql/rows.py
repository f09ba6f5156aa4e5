"""Vectorised row encoding: Arrow columns in, framed MySQL row packets out.

A column is first turned into `Cells` (a byte buffer plus offsets, the layout of an
Arrow string array) by `columns.py`. Here all cells of a batch are laid out in one
output buffer with numpy index arithmetic: per column we compute where each cell
lands, write the length prefixes with masked stores and copy every data byte with a
single gather; then the 4-byte packet headers go in front of each row. No Python
code runs per row or per cell, which is what makes million-row results cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from augurdb.server.mysql.constants import MAX_PACKET_PAYLOAD
from augurdb.server.mysql.packets import frame

NULL_MARKER = 0xFB
# (first byte, number of length bytes, lengths below this limit) for lenenc prefixes past one byte.
_WIDE_PREFIXES = ((0xFC, 2, 1 << 16), (0xFD, 3, 1 << 24), (0xFE, 8, 1 << 63))


@dataclass
class Cells:
    """One column's cells as bytes: cell i is `data[offsets[i]:offsets[i+1]]`.

    `valid` is None when nothing is NULL. `lenenc` says whether each cell gets a
    length-encoded prefix (text protocol, strings) or is written as is (fixed-width
    binary-protocol values, which carry their own length byte when they need one).
    """

    data: np.ndarray
    offsets: np.ndarray
    valid: np.ndarray | None
    lenenc: bool = True

    @classmethod
    def fixed(cls, values: np.ndarray, valid: np.ndarray | None) -> Cells:
        """Fixed-width binary values (numbers, packed dates) from a numpy array of records."""
        width = values.dtype.itemsize
        offsets = np.arange(len(values) + 1, dtype=np.int64) * width
        return cls(np.ascontiguousarray(values).view(np.uint8).reshape(-1), offsets, valid, lenenc=False)

    @classmethod
    def nulls(cls, n: int) -> Cells:
        """A column where every cell is NULL (0xFB in text rows, nothing in binary rows)."""
        return cls(np.empty(0, np.uint8), np.zeros(n + 1, np.int64), np.zeros(n, bool))


def _lenenc_width(lengths: np.ndarray) -> np.ndarray:
    """Bytes of the length-encoded prefix for each length (1, 3, 4 or 9)."""
    return 1 + 2 * (lengths >= 251) + (lengths >= 1 << 16) + 5 * (lengths >= 1 << 24)


def _write_prefixes(out: np.ndarray, at: np.ndarray, lengths: np.ndarray, valid: np.ndarray | None,
                    null_marker: bool) -> None:
    """Store each cell's length prefix at `at` (0xFB for NULL when `null_marker`)."""
    small = lengths < 251
    if valid is not None:
        small &= valid
    out[at[small]] = lengths[small]
    if valid is not None and null_marker:
        out[at[~valid]] = NULL_MARKER
    if small.all():
        return
    low = 251
    for marker, nbytes, high in _WIDE_PREFIXES:
        mask = (lengths >= low) & (lengths < high)
        low = high
        if not mask.any():
            continue
        pos, size = at[mask], lengths[mask]
        out[pos] = marker
        for k in range(nbytes):
            out[pos + 1 + k] = (size >> (8 * k)) & 0xFF


def _copy_data(out: np.ndarray, start: np.ndarray, lengths: np.ndarray, cells: Cells) -> None:
    """Copy every non-NULL cell's bytes to `out[start[i]:start[i]+lengths[i]]` in one gather."""
    total = int(lengths.sum())
    if not total:
        return
    index_type = np.int32 if len(out) < 1 << 31 and len(cells.data) < 1 << 31 else np.int64
    before = np.cumsum(lengths) - lengths  # where each cell starts among the copied bytes
    step = np.arange(total, dtype=index_type)
    source_len = np.diff(cells.offsets)
    if cells.valid is None or not source_len[~cells.valid].any():
        # NULLs take no bytes in the source, so the bytes to copy are one contiguous run.
        source = cells.data[cells.offsets[0] : cells.offsets[0] + total]
    else:
        source = cells.data[np.repeat((cells.offsets[:-1] - before).astype(index_type), lengths) + step]
    out[np.repeat((start - before).astype(index_type), lengths) + step] = source


def _layout(columns: Sequence[Cells], null_marker: bool) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Per column (prefix widths, data lengths), and each row's payload length."""
    parts = []
    row_len = np.zeros(len(columns[0].offsets) - 1, np.int64)
    for cells in columns:
        lengths = np.diff(cells.offsets)
        if cells.valid is not None:
            lengths = np.where(cells.valid, lengths, 0)
        if cells.lenenc:
            prefix = _lenenc_width(lengths)
            if cells.valid is not None and not null_marker:
                prefix[~cells.valid] = 0
        else:
            prefix = np.zeros_like(lengths)
        parts.append((prefix, lengths))
        row_len += prefix + lengths
    return parts, row_len


def _fill(out: np.ndarray, cursor: np.ndarray, columns: Sequence[Cells],
          parts: list[tuple[np.ndarray, np.ndarray]], null_marker: bool) -> None:
    """Write all cells, row by row in parallel, starting each row at `cursor`."""
    for cells, (prefix, lengths) in zip(columns, parts, strict=True):
        if cells.lenenc:
            _write_prefixes(out, cursor, lengths, cells.valid, null_marker)
        cursor = cursor + prefix
        _copy_data(out, cursor, lengths, cells)
        cursor = cursor + lengths


def encode_rows(columns: Sequence[Cells], seq: int, *, null_marker: bool) -> tuple[memoryview, int]:
    """Frame one packet per row (cells in column order) starting at sequence id `seq`.

    `null_marker` writes 0xFB for NULL cells (text protocol); without it NULLs take no
    bytes (binary protocol, where the row's NULL bitmap says which are missing).
    Returns the bytes and the sequence id after the last packet.
    """
    n = len(columns[0].offsets) - 1
    parts, row_len = _layout(columns, null_marker)
    if n and row_len.max() >= MAX_PACKET_PAYLOAD:
        return _encode_split(columns, parts, row_len, seq, null_marker)
    starts = np.zeros(n, np.int64)
    np.cumsum(row_len[:-1] + 4, out=starts[1:])
    out = np.empty(int(row_len.sum()) + 4 * n, np.uint8)
    out[starts] = row_len & 0xFF
    out[starts + 1] = (row_len >> 8) & 0xFF
    out[starts + 2] = row_len >> 16
    out[starts + 3] = (seq + np.arange(n)) & 0xFF
    _fill(out, starts + 4, columns, parts, null_marker)
    return out.data, (seq + n) & 0xFF


def _encode_split(columns: Sequence[Cells], parts: list[tuple[np.ndarray, np.ndarray]], row_len: np.ndarray,
                  seq: int, null_marker: bool) -> tuple[memoryview, int]:
    """Rows of 16 MB or more span several packets: lay payloads out unframed, then frame each row."""
    starts = np.zeros(len(row_len), np.int64)
    np.cumsum(row_len[:-1], out=starts[1:])
    payloads = np.empty(int(row_len.sum()), np.uint8)
    _fill(payloads, starts.copy(), columns, parts, null_marker)
    framed = []
    for start, length in zip(starts.tolist(), row_len.tolist(), strict=True):
        data, seq = frame(payloads.data[start : start + length], seq)
        framed.append(data)
    return memoryview(b"".join(framed)), seq


def binary_row_header(columns: Sequence[Cells]) -> Cells:
    """Each binary-protocol row starts with 0x00 and a NULL bitmap whose first two bits are unused."""
    n = len(columns[0].offsets) - 1
    nulls = np.zeros((n, len(columns) + 2), bool)
    for i, cells in enumerate(columns):
        if cells.valid is not None:
            nulls[:, i + 2] = ~cells.valid
    bitmap = np.packbits(nulls, axis=1, bitorder="little")
    header = np.concatenate([np.zeros((n, 1), np.uint8), bitmap], axis=1)
    record = np.dtype((np.void, header.shape[1]))
    return Cells.fixed(np.ascontiguousarray(header).view(record).reshape(n), None)
