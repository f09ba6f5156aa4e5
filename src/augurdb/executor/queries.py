"""SELECT, UNION and friends: plan, run the steps, then one DuckDB query over their outputs."""

from __future__ import annotations

import warnings
from functools import partial
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlglot import exp

from augurdb.executor.dispatch import run_statement
from augurdb.executor.predict import run_predict
from augurdb.executor.stream import stream_plan
from augurdb.executor.system_tables import INFORMATION_SCHEMA_TABLES, models_table
from augurdb.planner.explain import plan_rows, plan_warnings
from augurdb.planner.planner import plan_query
from augurdb.planner.snapshot import Snapshot
from augurdb.planner.steps import FetchStep, MaterializeStep, Plan, PredictStep, RemoteScan
from augurdb.result import Result
from augurdb.sql.casts import is_text_number_mismatch, numeric_comparisons, truncation_warnings
from augurdb.sql.compat import as_mysql_answers
from augurdb.sql.parser import to_duckdb

if TYPE_CHECKING:
    from augurdb.session import Session


@run_statement.register(exp.Query)
def _query(statement: exp.Query, session: Session) -> Result:
    """A query's rows; a model JOIN that needs no whole-result step streams batch by batch."""
    query = as_mysql_answers(session, statement)
    truncated = truncation_warnings(query)
    if _is_constant_select(query):
        literals = literal_row(query)
        result = Result.rows(literals if literals is not None else _constant_select(session, query))
        result.warnings = truncated
        return result
    snapshot = Snapshot.take(session)
    plan = plan_query(snapshot, query, copy=False)
    stream = stream_plan(session, snapshot, plan)
    result = Result.streamed(stream) if stream is not None else Result.rows(run_plan(session, snapshot, plan))
    result.warnings = truncated + plan_warnings(plan)
    return result


def run_query(session: Session, statement: exp.Expr) -> pa.Table:
    """Answer a query as an Arrow table."""
    statement = as_mysql_answers(session, statement)
    if _is_constant_select(statement):
        return _constant_select(session, statement)
    snapshot = Snapshot.take(session)
    return run_plan(session, snapshot, plan_query(snapshot, statement, copy=False))


def query_batches(session: Session, statement: exp.Expr, *, writing_to: str | None = None) -> pa.RecordBatchReader:
    """Answer a query as a stream of batches: a model JOIN that streams is never held whole (on
    Ray, it runs on Ray Data). A query that reads the database `writing_to` is answered whole
    first, so that the write never races its own reads on that database."""
    statement = as_mysql_answers(session, statement)
    if _is_constant_select(statement):
        return _constant_select(session, statement).to_reader()
    snapshot = Snapshot.take(session)
    plan = plan_query(snapshot, statement, copy=False)
    reads_target = any(isinstance(s, RemoteScan) and s.database == writing_to for s in plan.steps)
    stream = None if reads_target else stream_plan(session, snapshot, plan)
    return stream if stream is not None else run_plan(session, snapshot, plan).to_reader()


@run_statement.register(exp.Describe)
def _describe_or_explain(statement: exp.Describe, session: Session) -> Result:
    """EXPLAIN <select> shows the plan; DESCRIBE <table or model> its columns or model facts."""
    if not isinstance(statement.this, exp.Query):
        from augurdb.executor.models import describe

        return describe(statement, session)
    query = as_mysql_answers(session, statement.this)
    rows = plan_rows(plan_query(Snapshot.take(session), query, copy=False))
    names = ["step", "operator", "target", "output", "detail"]
    return Result.rows(pa.table({n: pa.array([r[n] for r in rows], pa.string()) for n in names}))


def run_plan(session: Session, snapshot: Snapshot, plan: Plan) -> pa.Table:
    relations: dict[str, pa.Table] = {}
    cursor = None  # opened only when DuckDB has work: one-row predictions often need none
    try:
        for step in plan.steps:
            session.interrupt.check()
            if isinstance(step, FetchStep):
                cursor = cursor or _cursor(session, relations)
                with session.interrupt.watching(cursor):
                    result = session.translate_errors(partial(local_arrow, cursor, step.query))
            elif isinstance(step, RemoteScan):
                result = run_remote_scan(snapshot, step)
            elif isinstance(step, MaterializeStep):
                result = _materialize(session, step)
            elif isinstance(step, PredictStep):
                result = run_predict(session, step, relations[step.input] if step.input else None)
            relations[step.output] = result
            if cursor is not None:
                cursor.register(step.output, result)
        projected = simple_projection(plan.query, relations)
        if projected is not None:
            return projected
        cursor = cursor or _cursor(session, relations)
        with session.interrupt.watching(cursor):
            return session.translate_errors(partial(local_arrow, cursor, plan.query))
    finally:
        if cursor is not None:
            cursor.close()


def run_remote_scan(snapshot: Snapshot, step: RemoteScan) -> pa.Table:
    """The rows a linked database answers for its part of the plan."""
    source = snapshot.source(step.database)
    assert source is not None, step.database
    return source.scan(step.sql).read_all()


# DuckDB's relational sql() parses and binds holding the GIL; execute() lets it go. Long
# statements (an IN list of 150k values: 0.4 s of parsing) take execute(), so that other
# connections are not held meanwhile; short ones keep sql(), which hands over Arrow without a copy.
_LONG_SQL = 64 * 1024
# That path costs DuckDB one extra copy of the rows, which it warns about each time: known here.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


def _constant_select(session: Session, query: exp.Expr) -> pa.Table:
    """A SELECT without FROM, with the same numeric reading of quoted values as a query over
    tables (`SELECT 'a' = 0` is 1, as in MySQL)."""
    cursor = session.instance.duckdb.cursor()
    try:
        with session.interrupt.watching(cursor):
            return session.translate_errors(lambda: local_arrow(cursor, query))
    finally:
        cursor.close()


def _duckdb_arrow(cursor: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    if len(sql) > _LONG_SQL:
        return cursor.execute(sql).to_arrow_table()
    return cursor.sql(sql).to_arrow_table()


def local_arrow(cursor: duckdb.DuckDBPyConnection, query: exp.Expr) -> pa.Table:
    """Run a query in DuckDB; text compared with a number is retried with MySQL's numeric cast."""
    try:
        return _duckdb_arrow(cursor, to_duckdb(query))
    except (duckdb.BinderException, duckdb.ConversionException) as error:
        if not is_text_number_mismatch(str(error)):
            raise
    return _duckdb_arrow(cursor, to_duckdb(numeric_comparisons(query), copy=False))  # a fresh copy


def _cursor(session: Session, relations: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    cursor = session.instance.duckdb.cursor()
    for name, table in relations.items():
        cursor.register(name, table)
    return cursor


def simple_projection(query: exp.Expr, relations: dict[str, pa.Table]) -> pa.Table | None:
    """`SELECT a, b AS c FROM one_relation` answered from Arrow directly.

    One-row predictions mostly look like this; skipping DuckDB saves a millisecond or two.
    """
    if not isinstance(query, exp.Select) or {k for k, v in query.args.items() if v} != {"expressions", "from_"}:
        return None
    source = query.args["from_"].this
    if not isinstance(source, exp.Table) or source.name not in relations:
        return None
    table = relations[source.name]
    by_lower = {name.lower(): name for name in table.column_names}
    names, columns = [], []
    for projection in query.expressions:
        if isinstance(projection, exp.Star):
            names += table.column_names
            columns += table.columns
            continue
        column = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(column, exp.Column) or column.name.lower() not in by_lower:
            return None
        source_name = by_lower[column.name.lower()]
        names.append(projection.alias if isinstance(projection, exp.Alias) else source_name)  # as DuckDB names it
        columns.append(table.column(source_name))
    return pa.table(columns, names=names)


def _materialize(session: Session, step: MaterializeStep) -> pa.Table:
    if step.table == "models":
        project = None if step.database == "information_schema" else step.database
        return models_table(session, project)
    return INFORMATION_SCHEMA_TABLES[step.table](session)


def literal_row(select: exp.Expr) -> pa.Table | None:
    """`SELECT 1`, `SELECT 'x' AS a, -2`: the row built here, typed as DuckDB types it (INTEGER,
    BIGINT, VARCHAR); None for anything else. Clients send `SELECT 1` to check a connection."""
    if not isinstance(select, exp.Select) or {k for k, v in select.args.items() if v} != {"expressions"}:
        return None
    names, columns = [], []
    for projection in select.expressions:
        value = projection.this if isinstance(projection, exp.Alias) else projection
        negative = isinstance(value, exp.Neg)
        value = value.this if negative else value
        if not isinstance(value, exp.Literal):
            return None
        if value.is_string and not negative:
            columns.append(pa.array([value.this], pa.string()))
        elif not value.is_string and value.this.isdigit():
            number = -int(value.this) if negative else int(value.this)
            kind = pa.int32() if -2**31 <= number < 2**31 else pa.int64() if -2**63 <= number < 2**63 else None
            if kind is None:
                return None
            columns.append(pa.array([number], kind))
        else:
            return None  # decimals and the like: DuckDB's own types
        names.append(projection.alias_or_name)
    return pa.table(columns, names=names)


def _is_constant_select(statement: exp.Expr) -> bool:
    return isinstance(statement, exp.Select) and not statement.args.get("from_") and not any(
        statement.find_all(exp.Table))
