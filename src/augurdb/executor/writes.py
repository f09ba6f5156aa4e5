"""Writing query results back: CREATE TABLE db.t (SELECT ...) and INSERT INTO db.t (SELECT ...).

The rows (predictions included) reach the target as a stream of batches that lands in one
transaction: a failure part way leaves the target as it was. A model JOIN that streams is
predicted batch by batch as the target takes it (on Ray Data when the server is on Ray), so a
table of any size can be scored into another; a query that reads the target's own database is
answered whole before the write begins.
Targets are linked databases (their write()) and uploaded files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from augurdb.errors import NotSupported, WrongArguments
from augurdb.executor import system_tables as st
from augurdb.executor.dispatch import run_statement
from augurdb.executor.queries import query_batches
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
    target = statement.this
    return _write(session, target, _rows(session, statement.args["expression"], target), mode,
                  if_not_exists=bool(statement.args.get("exists")))


@run_statement.register(exp.Insert)
def _insert(statement: exp.Insert, session: Session) -> Result:
    target = statement.this
    names: list[str] | None = None
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b) SELECT ...
        names = [c.name for c in target.expressions]
        target = target.this
    rows = _rows(session, statement.args["expression"], target)
    if names is not None:
        if len(names) != len(rows.schema):
            raise WrongArguments("Column count doesn't match value count", code=1136, sqlstate="21S01")
        rows = _renamed(rows, names)
    return _write(session, target, rows, "append", by_name=names is not None)


def _rows(session: Session, source: exp.Expr, target: exp.Expr) -> pa.RecordBatchReader:
    query = source.this if isinstance(source, exp.Subquery) else source
    if isinstance(query, exp.Values):
        query = exp.select("*").from_(query.copy())
    if not isinstance(query, exp.Query):
        raise NotSupported("INSERT and CREATE TABLE take a SELECT or VALUES")
    database = st.resolve_database(session, target.catalog or target.db or session.database) \
        if isinstance(target, exp.Table) else None
    return _rebatched(query_batches(session, query, writing_to=database))


def _rebatched(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """Batches of at most WRITE_BATCH_ROWS rows."""
    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            for start in range(0, batch.num_rows, WRITE_BATCH_ROWS):
                yield batch.slice(start, WRITE_BATCH_ROWS)
    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _renamed(reader: pa.RecordBatchReader, names: list[str]) -> pa.RecordBatchReader:
    schema = pa.schema([field.with_name(name) for field, name in zip(reader.schema, names, strict=True)])
    return pa.RecordBatchReader.from_batches(
        schema, (pa.RecordBatch.from_arrays(batch.columns, schema=schema) for batch in reader))


def _write(session: Session, target: exp.Expr, reader: pa.RecordBatchReader, mode: WriteMode, *,
           if_not_exists: bool = False, by_name: bool = False) -> Result:
    if not isinstance(target, exp.Table):
        raise NotSupported("Name the table to write as db.table")
    database = st.resolve_database(session, target.catalog or target.db or session.database)
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
