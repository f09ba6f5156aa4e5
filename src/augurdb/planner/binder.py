"""Resolve the table references of a query against a catalog snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from augurdb.catalog.records import FileRecord, ModelRecord
from augurdb.errors import NotSupported, UnknownTable
from augurdb.executor.system_tables import INFORMATION_SCHEMA_TABLES
from augurdb.integrations.data.base import DataIntegration, TableName
from augurdb.planner.snapshot import FILES, INFORMATION_SCHEMA, Snapshot
from augurdb.sql import ast


@dataclass(frozen=True)
class FileTable:
    record: FileRecord


@dataclass(frozen=True)
class SystemTable:
    database: str
    name: str


@dataclass(frozen=True)
class ModelTable:
    record: ModelRecord


@dataclass(frozen=True)
class RemoteTable:
    """A table of a linked database: `db.table` or `db.schema.table`."""

    database: str
    source: DataIntegration
    table: TableName
    # The reference as the source names it (no augurdb database prefix). Identifiers keep the
    # user's quoting: a quoted name keeps its case, an unquoted one follows the source's rules.
    relation: exp.Table


@dataclass(frozen=True)
class NativeTable:
    """`db (native query)`: SQL text in the source's own dialect, sent as written."""

    database: str
    source: DataIntegration
    sql: str


Bound = FileTable | SystemTable | ModelTable | RemoteTable | NativeTable | None


def cte_names(query: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}


def bind_native(snapshot: Snapshot, node: ast.NativeQuery) -> NativeTable:
    database = snapshot.resolve_database(node.name)
    source = snapshot.source(database)
    if source is None or not source.capabilities.native_query:
        raise NotSupported(f"'{database}' is not a linked database that takes native queries: "
                           "`FROM db (query)` sends the query to a database made with CREATE DATABASE ... ENGINE")
    return NativeTable(database, source, node.args["query"])


def bind_table(snapshot: Snapshot, table: exp.Table, ctes: set[str]) -> Bound:
    """What a table reference names; None for CTEs, relations of the plan and table functions."""
    if not isinstance(table.this, exp.Identifier):
        return None
    name, db, catalog = table.name, table.db, table.catalog
    if not db and (name.lower() in ctes or name.lower() == "dual"):
        return None
    if catalog:
        source = snapshot.source(catalog)
        if source is not None:
            return _remote(snapshot, catalog, source, TableName(name, db), table)
        return ModelTable(snapshot.model_version(snapshot.resolve_database(catalog), db, name))
    if db and name.isdigit() and not snapshot.is_database(db):  # model.2: a version of a model
        return ModelTable(snapshot.model_version(snapshot.current_database, db, name))
    database = snapshot.resolve_database(db or snapshot.current_database)
    if database == INFORMATION_SCHEMA:
        if name.lower() not in INFORMATION_SCHEMA_TABLES:
            raise UnknownTable(f"Table '{INFORMATION_SCHEMA}.{name}' doesn't exist")
        return SystemTable(database, name.lower())
    if database == FILES:
        return FileTable(snapshot.file(name))
    source = snapshot.source(database)
    if source is not None:
        return _remote(snapshot, database, source, TableName(name, source.default_schema), table)
    if name.lower() in ("models", "predictors"):
        return SystemTable(database, "models")
    return ModelTable(snapshot.active_model(database, name))


def _remote(snapshot: Snapshot, database: str, source: DataIntegration, name: TableName,
            table: exp.Table) -> RemoteTable:
    explicit_schema = table.db if table.catalog else None
    if explicit_schema and not source.capabilities.schemas:
        raise UnknownTable(f"Table '{database}.{explicit_schema}.{name.name}' doesn't exist: "
                           f"'{database}' has no schemas, name its tables as {database}.<table>")
    if not source.capabilities.schemas:
        name = TableName(name.name)
    schema = table.args["db"].copy() if explicit_schema else (
        exp.to_identifier(name.schema) if name.schema else None)
    relation = exp.Table(this=table.this.copy(), db=schema)
    return RemoteTable(database, source, name, relation)
