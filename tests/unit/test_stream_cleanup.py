"""Streamed results are let go of deterministically, and a late clean-up cannot deadlock.

A streamed answer is a chain of generators that hold a DuckDB cursor, the statement's Interrupt
and perhaps a pooled connection. When one is dropped inside a reference cycle, the garbage
collector runs its clean-up at some later allocation of whatever thread, possibly inside the
very lock that clean-up takes. That deadlocked every worker thread under bench/reliability.py.
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa

from augurdb.executor.processes import Interrupt
from augurdb.integrations.data.common import ConnectionPool
from augurdb.result import Result


def _finishes(fn) -> bool:
    worker = threading.Thread(target=fn, daemon=True)
    worker.start()
    worker.join(timeout=10)
    return not worker.is_alive()


def test_a_watched_stream_closed_inside_the_interrupts_lock_does_not_deadlock():
    interrupt, cursor = Interrupt(), duckdb.connect().cursor()

    def watched():
        with interrupt.watching(cursor):
            yield 1
            yield 2

    stream = watched()
    next(stream)

    def close_as_the_collector_would():  # the collector runs it in whatever frame allocates
        with interrupt._lock:
            stream.close()

    assert _finishes(close_as_the_collector_would)
    assert _finishes(lambda: interrupt.clear())


def test_a_scan_released_inside_the_pools_lock_does_not_deadlock():
    pool = ConnectionPool(connect=object, close=lambda c: None, alive=lambda c: True)
    connection, _ = pool.start(lambda c: None, lambda e: False)

    def release_as_the_collector_would():
        with pool._lock:
            pool.release(connection)

    assert _finishes(release_as_the_collector_would)


def test_closing_an_unread_stream_runs_its_clean_up_and_its_end():
    events: list[str] = []

    def batches():
        try:
            yield pa.record_batch({"a": [1]})
            yield pa.record_batch({"a": [2]})
        finally:
            events.append("generator closed")

    source = batches()
    first = next(source)  # as stream_plan reads the first batch to learn the schema

    def conformed(rest):
        yield first
        yield from rest

    result = Result.streamed(pa.RecordBatchReader.from_batches(first.schema, conformed(source)))
    del source
    assert events == []
    result.at_stream_end(lambda: events.append("statement ended"))
    result.close()
    assert events == ["generator closed", "statement ended"]
    assert not result.has_rows
