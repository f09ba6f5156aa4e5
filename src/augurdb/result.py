"""The answer to one statement, as every protocol sees it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

SMALL_RESULT_BYTES = 64 * 1024


class Result:
    """Either rows or an OK with a count of affected rows.

    Rows come as a whole Arrow table or as a stream of record batches (a model JOIN over a
    large table): `batches()` reads either without holding the whole result, `table` reads
    the stream to its end once. Protocols map the Arrow types to their own (MySQL column
    types, JSON, Arrow IPC).
    """

    def __init__(self, table: pa.Table | None = None, affected_rows: int = 0, info: str = "",
                 warnings: list[tuple[str, int, str]] | None = None,
                 stream: pa.RecordBatchReader | None = None):
        self._table = table
        self._stream = stream
        self.affected_rows = affected_rows
        self.info = info
        self.warnings: list[tuple[str, int, str]] = list(warnings or [])
        self._at_stream_end: list[Callable[[], None]] = []

    @classmethod
    def ok(cls, affected_rows: int = 0, info: str = "") -> Result:
        return cls(affected_rows=affected_rows, info=info)

    @classmethod
    def rows(cls, table: pa.Table) -> Result:
        return cls(table=table)

    @classmethod
    def streamed(cls, stream: pa.RecordBatchReader) -> Result:
        return cls(stream=stream)

    def at_stream_end(self, end: Callable[[], None]) -> bool:
        """Run `end` once a streamed result has been read (or its reading stopped): the statement
        lasts until its last batch is sent. False, and nothing kept, when the rows are not a stream."""
        if self._stream is None:
            return False
        self._at_stream_end.append(end)
        return True

    def _stream_ended(self) -> None:
        ends, self._at_stream_end = self._at_stream_end, []
        for end in ends:
            end()

    @property
    def small_table(self) -> pa.Table | None:
        """The rows when they are already in memory and small (a one-row answer): protocols
        encode them at once, without handing work to other threads."""
        table = self._table
        return table if self._stream is None and table is not None and table.nbytes <= SMALL_RESULT_BYTES else None

    @property
    def has_rows(self) -> bool:
        return self._table is not None or self._stream is not None

    @property
    def schema(self) -> pa.Schema | None:
        if self._stream is not None:
            return self._stream.schema
        return self._table.schema if self._table is not None else None

    @property
    def table(self) -> pa.Table | None:
        """All rows at once (a stream is read to its end, once)."""
        if self._stream is not None:
            try:
                self._table, self._stream = self._stream.read_all(), None
            finally:
                self._stream_ended()
        return self._table

    def close(self) -> None:
        """Let go of a stream that will not be read (an earlier statement of several, or one whose
        reading failed): its generators end here, in this thread, and not later in the garbage
        collector, which runs their clean-up at any allocation of any thread, locks held or not."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                stream.close()
                del stream  # most often the last reference: the generators' clean-up runs now
            finally:
                self._stream_ended()

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows in batches, without reading a stream whole."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                yield from stream
            finally:
                self._stream_ended()
        elif self._table is not None:
            yield from self._table.to_batches()
