"""Model JOINs that stream: read a batch, predict it, answer it, never holding the whole table.

A plan streams when it is a pipeline: one data step (a source scan, or DuckDB reading files),
the models predicting from it, and a final query that looks at one row at a time (filters and
projections: no ORDER BY, GROUP BY, aggregate, window or DISTINCT, which need all rows). A LIMIT
without ORDER BY takes the first rows that pass and stops reading.
Memory is then bounded by the batch size, whatever the table's size. The next batch is computed
while the caller sends this one (`read_ahead`), so a model's predict and the wire's encoding
run on different cores.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import duckdb
import pyarrow as pa
from sqlglot import exp

from augurdb.errors import AugurError, InternalError
from augurdb.executor.predict import run_predict
from augurdb.executor.processes import QueryInterrupted
from augurdb.executor.ray_batch import ray_parquet_path, ray_predicted_batches
from augurdb.planner.snapshot import Snapshot
from augurdb.planner.steps import FetchStep, Plan, PredictStep, RemoteScan
from augurdb.sql.duckdb_errors import as_mysql_error
from augurdb.sql.parser import literal_value, to_duckdb

if TYPE_CHECKING:
    from augurdb.session import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

STREAM_BATCH_ROWS = 65_536
_WHOLE_RESULT_CLAUSES = ("group", "order", "having", "distinct", "qualify", "with")


def is_pipeline(plan: Plan) -> bool:
    """Whether the plan is data -> predictions -> a row-at-a-time query."""
    if len(plan.steps) < 2 or not isinstance(plan.steps[0], RemoteScan | FetchStep):
        return False
    data = plan.steps[0].output
    if not all(isinstance(s, PredictStep) and s.input == data for s in plan.steps[1:]):
        return False
    query = plan.query
    if not isinstance(query, exp.Select) or any(query.args.get(k) for k in _WHOLE_RESULT_CLAUSES):
        return False
    if any(query.find_all(exp.AggFunc, exp.Window, exp.Subquery)):
        return False
    from_ = query.args.get("from_")
    return from_ is not None and isinstance(from_.this, exp.Table) and from_.this.name == data


def stream_plan(session: Session, snapshot: Snapshot, plan: Plan) -> pa.RecordBatchReader | None:
    """The answer as a stream of batches, or None when the plan is not a pipeline or has no rows."""
    if not is_pipeline(plan):
        return None
    data = plan.steps[0]
    assert isinstance(data, RemoteScan | FetchStep)
    query, limit, offset = _without_limit(plan.query)
    cursor = session.instance.duckdb.cursor()
    on_ray = ray_parquet_path(session, plan)
    relations = ray_predicted_batches(session, plan, on_ray) if on_ray else \
        _predicted(session, plan, _data_batches(snapshot, data, cursor))
    answers = _answer(session, query, _watched(session, cursor, relations), cursor)
    batches = read_ahead(_limited(answers, limit, offset) if limit is not None or offset else answers)
    first = next(batches, None)
    if first is None:
        batches.close()
        return None
    schema = first.schema

    def conformed() -> Iterator[pa.RecordBatch]:
        yield first
        for batch in batches:
            yield batch if batch.schema.equals(schema) else batch.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, conformed())


def _without_limit(query: exp.Expr) -> tuple[exp.Expr, int | None, int]:
    """The query for each batch, and the LIMIT and OFFSET to apply across batches."""
    limit, offset = query.args.get("limit"), query.args.get("offset")
    if limit is None and offset is None:
        return query, None, 0
    per_batch = query.copy()
    per_batch.set("limit", None)
    per_batch.set("offset", None)
    return (per_batch, literal_value(limit.expression) if limit is not None else None,
            literal_value(offset.expression) if offset is not None else 0)


def _limited(batches: Generator[pa.RecordBatch, None, None], limit: int | None,
             offset: int) -> Generator[pa.RecordBatch, None, None]:
    """Skip `offset` rows, pass `limit` rows, then stop reading the source."""
    try:
        for batch in batches:
            if offset:
                skipped = min(offset, batch.num_rows)
                batch, offset = batch.slice(skipped), offset - skipped
            if limit is not None:
                batch, limit = batch.slice(0, limit), limit - min(limit, batch.num_rows)
            yield batch
            if limit == 0:
                return
    finally:
        batches.close()


def read_ahead(batches: Generator[pa.RecordBatch, None, None]) -> Generator[pa.RecordBatch, None, None]:
    """The batches, each next one computed on a thread of its own while the caller sends this one.

    One batch ahead at most: memory stays bounded, and a LIMIT's source stops where it did.
    A failure (a bad value, KILL QUERY, a time limit) reaches the caller as the batch it replaces.
    """
    pool = ThreadPoolExecutor(1, thread_name_prefix="augurdb-read-ahead")
    pending = pool.submit(next, batches, None)
    try:
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield batch
    finally:
        # A caller that stops early (a client gone) waits for the batch in hand: the generator
        # below can only be closed once no thread runs it.
        try:
            pending.result()
        except Exception:  # noqa: BLE001 - the caller has stopped reading; the failure has no reader
            pass
        pool.shutdown()
        batches.close()


def _data_batches(snapshot: Snapshot, step: RemoteScan | FetchStep,
                  cursor: duckdb.DuckDBPyConnection) -> Iterator[pa.RecordBatch]:
    if isinstance(step, RemoteScan):
        source = snapshot.source(step.database)
        assert source is not None, step.database
        yield from source.scan(step.sql, STREAM_BATCH_ROWS)
    else:
        yield from cursor.sql(to_duckdb(step.query)).fetch_record_batch(STREAM_BATCH_ROWS)


def _local_answer(session: Session, relations: dict[str, pa.Table], query: exp.Expr) -> pa.Table:
    from augurdb.executor.queries import local_arrow

    cursor = session.instance.duckdb.cursor()
    try:
        for name, table in relations.items():
            cursor.register(name, table)
        with session.interrupt.watching(cursor):
            return local_arrow(cursor, query)
    finally:
        cursor.close()


def _watched(session: Session, cursor: duckdb.DuckDBPyConnection, data: Iterator[T]) -> Iterator[T]:
    """The batches, stopped by KILL QUERY between batches (and within a DuckDB read)."""
    with session.interrupt.watching(cursor):
        for batch in data:
            session.interrupt.check()
            yield batch


def _predicted(session: Session, plan: Plan, data: Iterator[pa.RecordBatch]) -> Iterator[dict[str, pa.Table]]:
    """Each data batch with every model's predictions: the relations the final query reads."""
    for batch in data:
        if batch.num_rows == 0:
            continue
        rows = pa.Table.from_batches([batch])
        relations = {plan.steps[0].output: rows}
        for step in plan.steps[1:]:
            assert isinstance(step, PredictStep)
            relations[step.output] = run_predict(session, step, rows)
        yield relations


def _answer(session: Session, query: exp.Expr, relations: Iterator[dict[str, pa.Table]],
            cursor: duckdb.DuckDBPyConnection) -> Generator[pa.RecordBatch, None, None]:
    """The final query over each batch's relations."""
    try:
        for batch in relations:
            answer = session.translate_errors(partial(_local_answer, session, batch, query))
            parts = answer.to_batches()
            # An empty answer still carries the schema, so the first batch always names the columns.
            yield from parts or [pa.RecordBatch.from_pylist([], schema=answer.schema)]
    except QueryInterrupted:
        # translate_errors tells any DuckDB interrupt as KILL QUERY's; a time limit that fired
        # while DuckDB ran a batch's query is error 3024, as between batches.
        session.interrupt.check()
        raise
    except AugurError:
        raise
    except duckdb.Error as error:  # DuckDB found a mistake while it read a batch
        session.interrupt.check()
        if isinstance(error, duckdb.InterruptException):
            raise QueryInterrupted("Query execution was interrupted") from None
        raise as_mysql_error(error) from None
    except Exception as error:
        # A stop (KILL QUERY, max_execution_time) while DuckDB reads a batch can surface as an
        # Arrow error ("OSError: INTERRUPT Error"): report the stop.
        session.interrupt.check()
        # Otherwise our bug, found while streaming: report it like Session.execute does.
        log.exception("streaming a model JOIN failed")
        raise InternalError(f"Internal error: {type(error).__name__}: {error}") from error
    finally:
        cursor.close()
