"""Writing query results back: CREATE TABLE db.t (SELECT ...) and INSERT INTO db.t (SELECT ...).

The rows (predictions included) are computed first, then handed to the target as a stream
of batches that lands in one transaction: a failure part way leaves the target as it was.
Targets are linked databases (their write()) and uploaded files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from augurdb.errors import NotSupported, WrongArguments
from augurdb.executor import system_tables as st
from augurdb.executor.dispatch import run_statement
from augurdb.executor.queries import run_query
from augurdb.integrations.data.base import TableName, WriteMode
from augurdb.result import Result

if TYPE_CHECKING:
    from augurdb.session import Session

# Rows per batch handed to a target: bounds what one insert holds, big enough for bulk paths.
WRITE_BATCH_ROWS = 50_000


@run_statement.register(exp.Create)
def _create_table(statement: exp.Create, session: Session) -> Result:
    kind = (statement.args.get("kind") or "").upper()
    if kind != "TABLE" or statement.args.get("expression") is None:
        raise NotSupported(f"CREATE {kind} is not supported: CREATE TABLE db.name (SELECT ...) "
                           "writes a query's rows into a linked database or files")
    mode: WriteMode = "replace" if statement.args.get("replace") else "create"
    return _write(session, statement.this, _rows(session, statement.args["expression"]), mode,
                  if_not_exists=bool(statement.args.get("exists")))


@run_statement.register(exp.Insert)
def _insert(statement: exp.Insert, session: Session) -> Result:
    target = statement.this
    names: list[str] | None = None
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b) SELECT ...
        names = [c.name for c in target.expressions]
        target = target.this
    rows = _rows(session, statement.args["expression"])
    if names is not None:
        if len(names) != rows.num_columns:
            raise WrongArguments("Column count doesn't match value count", code=1136, sqlstate="21S01")
        rows = rows.rename_columns(names)
    return _write(session, target, rows, "append", by_name=names is not None)


def _rows(session: Session, source: exp.Expr) -> pa.Table:
    query = source.this if isinstance(source, exp.Subquery) else source
    if isinstance(query, exp.Values):
        query = exp.select("*").from_(query.copy())
    if not isinstance(query, exp.Query):
        raise NotSupported("INSERT and CREATE TABLE take a SELECT or VALUES")
    return run_query(session, query)


def _write(session: Session, target: exp.Expr, rows: pa.Table, mode: WriteMode, *,
           if_not_exists: bool = False, by_name: bool = False) -> Result:
    if not isinstance(target, exp.Table):
        raise NotSupported("Name the table to write as db.table")
    database = st.resolve_database(session, target.catalog or target.db or session.database)
    reader = pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches(max_chunksize=WRITE_BATCH_ROWS))
    if database == st.FILES:
        exists = target.name.lower() in {t.lower() for t in session.instance.files.tables()}
        if if_not_exists and exists:
            return Result.ok()
        written = session.instance.files.write(target.name, reader, mode)
        return Result.ok(written)
    source = st.linked_source(session, database)
    if source is None or not source.capabilities.writable:
        raise NotSupported(f"Tables can be written only into linked databases and files, not '{database}'")
    schema = target.db if target.catalog else (source.default_schema if source.capabilities.schemas else None)
    table = TableName(target.name, schema)
    exists = any(t.name == table.name and t.schema == table.schema for t in source.tables(schema))
    if if_not_exists and exists:
        return Result.ok()
    if mode == "append" and exists:
        reader = _fitted(reader, source.schema(table), f"{database}.{target.name}", by_name)
    return Result.ok(source.write(table, reader, mode))


def _fitted(reader: pa.RecordBatchReader, target: pa.Schema, table: str, by_name: bool) -> pa.RecordBatchReader:
    """Rows shaped as the existing table's columns: in order (INSERT without a column list) or by
    name, each cast to the column's type as the batch goes by."""
    if by_name:
        fields = {f.name.lower(): f for f in target}
        unknown = [f.name for f in reader.schema if f.name.lower() not in fields]
        if unknown:
            raise WrongArguments(f"Unknown column '{unknown[0]}' in table {table}", code=1054, sqlstate="42S22")
        schema = pa.schema([fields[f.name.lower()] for f in reader.schema])
    elif len(target) != len(reader.schema):
        raise WrongArguments(f"Column count doesn't match value count: {table} has {len(target)} columns, "
                             f"the query gives {len(reader.schema)}", code=1136, sqlstate="21S01")
    else:
        schema = target

    def cast(batch: pa.RecordBatch) -> pa.RecordBatch:
        try:
            return pa.RecordBatch.from_arrays([c.cast(f.type) for c, f in zip(batch.columns, schema, strict=True)],
                                              schema=schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise WrongArguments(f"The rows do not fit the columns of {table}: {error}") from None

    return pa.RecordBatchReader.from_batches(schema, (cast(batch) for batch in reader))
