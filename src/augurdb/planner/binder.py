"""Resolve the table names of a query against the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from augurdb.catalog.records import ModelRecord
from augurdb.errors import UnknownTable
from augurdb.executor.system_tables import (
    FILES,
    INFORMATION_SCHEMA,
    INFORMATION_SCHEMA_TABLES,
    resolve_database,
)

if TYPE_CHECKING:
    from augurdb.session import Session


@dataclass(frozen=True)
class FileTable:
    name: str


@dataclass(frozen=True)
class SystemTable:
    database: str
    name: str


@dataclass(frozen=True)
class ModelTable:
    record: ModelRecord


Bound = FileTable | SystemTable | ModelTable | None


def cte_names(query: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}


def bind_table(session: Session, table: exp.Table, ctes: set[str]) -> Bound:
    """What a table reference names; None for CTEs and table functions left to DuckDB."""
    if not isinstance(table.this, exp.Identifier):
        return None
    name, db, catalog = table.name, table.db, table.catalog
    if not db and (name.lower() in ctes or name.lower() == "dual"):
        return None
    if catalog:  # project.model.version
        return ModelTable(session.model_version(resolve_database(session, catalog), db, name))
    if db and name.isdigit() and not _is_database(session, db):
        return ModelTable(session.model_version(session.database, db, name))
    database = resolve_database(session, db or session.database)
    if database == INFORMATION_SCHEMA:
        if name.lower() not in INFORMATION_SCHEMA_TABLES:
            raise UnknownTable(f"Table '{INFORMATION_SCHEMA}.{name}' doesn't exist")
        return SystemTable(database, name.lower())
    if database == FILES:
        session.instance.files.record(name)  # raises UnknownTable
        return FileTable(session.instance.files.record(name).name)
    if database in session.instance.catalog.projects():
        if name.lower() in ("models", "predictors"):
            return SystemTable(database, "models")
        return ModelTable(session.active_model(database, name))
    raise UnknownTable(f"Table '{database}.{name}' doesn't exist")


def _is_database(session: Session, name: str) -> bool:
    try:
        resolve_database(session, name)
    except Exception:
        return False
    return True
