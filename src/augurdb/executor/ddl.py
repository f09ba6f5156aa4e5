"""USE, projects, linked databases and file tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from augurdb.catalog.records import IntegrationRecord
from augurdb.errors import AlreadyExists, NotSupported, UnknownDatabase, UnknownTable, WrongArguments
from augurdb.executor import system_tables as st
from augurdb.executor.dispatch import run_statement
from augurdb.executor.models import remove_models
from augurdb.instance import DEFAULT_PROJECT
from augurdb.integrations.data.registry import get_data_engine
from augurdb.result import Result
from augurdb.sql import ast

if TYPE_CHECKING:
    from augurdb.session import Session


@run_statement.register(exp.Use)
def _use(statement: exp.Use, session: Session) -> Result:
    session.database = st.resolve_database(session, statement.this.name)
    return Result.ok()


@run_statement.register(ast.CreateDatabase)
def _create_database(statement: ast.CreateDatabase, session: Session) -> Result:
    name = statement.this
    engine = statement.args.get("engine")
    if statement.args["kind"] != "PROJECT" and engine and engine.lower() != "mindsdb":
        return _link_database(statement, session)
    existing = {n.lower() for n in st.database_names(session)}
    if name.lower() in existing:
        if statement.args.get("exists"):
            return Result.ok()
        raise AlreadyExists(f"Can't create database '{name}'; database exists", code=1007, sqlstate="HY000")
    session.instance.catalog.add_project(name)
    return Result.ok(1)


def _link_database(statement: ast.CreateDatabase, session: Session) -> Result:
    """CREATE DATABASE name WITH ENGINE = '...', PARAMETERS = {...}: checked before it is stored."""
    name = statement.this
    catalog = session.instance.catalog
    linked = {r.name.lower() for r in catalog.integrations()}
    if name.lower() in {n.lower() for n in st.database_names(session)}:
        if statement.args.get("exists"):
            return Result.ok()
        if not (statement.args.get("replace") and name.lower() in linked):
            raise AlreadyExists(f"Can't create database '{name}'; database exists", code=1007, sqlstate="HY000")
    record = _checked_record(name, statement.args["engine"], statement.args.get("parameters") or {})
    catalog.add_integration(record, replace=bool(statement.args.get("replace")))
    session.instance.sources.forget(name)
    return Result.ok(1)


def _checked_record(name: str, engine: str, parameters: dict) -> IntegrationRecord:
    """The catalog record for a linked database whose connection works; SourceError when not."""
    data_engine = get_data_engine(engine)
    integration = data_engine.connect(name, parameters)
    try:
        integration.check()
    finally:
        integration.close()
    return IntegrationRecord(name, data_engine.name, dict(parameters))


@run_statement.register(ast.AlterDatabase)
def _alter_database(statement: ast.AlterDatabase, session: Session) -> Result:
    """New parameters (merged over the old ones) for a linked database, checked before they are kept."""
    name = st.resolve_database(session, statement.this)
    current = {r.name: r for r in session.instance.catalog.integrations()}.get(name)
    if current is None:
        raise WrongArguments(f"'{name}' is not a linked database: ALTER DATABASE changes the parameters "
                             "of a database made with CREATE DATABASE ... ENGINE")
    engine = statement.args.get("engine") or current.engine
    parameters = {**current.parameters, **(statement.args.get("parameters") or {})}
    record = _checked_record(name, engine, parameters)
    session.instance.catalog.add_integration(record, replace=True)
    session.instance.sources.forget(name)
    return Result.ok(1)


@run_statement.register(ast.DropDatabase)
def _drop_database(statement: ast.DropDatabase, session: Session) -> Result:
    name = statement.this
    try:
        name = st.resolve_database(session, name)
    except UnknownDatabase:
        if statement.args.get("exists"):
            return Result.ok()
        raise UnknownDatabase(f"Can't drop database '{name}'; database doesn't exist", code=1008) from None
    if name in (st.INFORMATION_SCHEMA, st.FILES, DEFAULT_PROJECT):
        raise WrongArguments(f"The database '{name}' is built in and cannot be dropped")
    catalog = session.instance.catalog
    if name not in catalog.projects():
        catalog.drop_integration(name)
        session.instance.sources.forget(name)
        if session.database == name:
            session.database = DEFAULT_PROJECT
        return Result.ok(1)
    records = catalog.models(project=name)
    remove_models(session, records, then=lambda: catalog.drop_project(name))
    if session.database == name:
        session.database = DEFAULT_PROJECT
    return Result.ok(1)


@run_statement.register(exp.Drop)
def _drop(statement: exp.Drop, session: Session) -> Result:
    kind = (statement.args.get("kind") or "").upper()
    if kind not in ("TABLE", "VIEW"):
        raise NotSupported(f"DROP {kind} is not supported")
    dropped = 0
    tables = statement.args.get("tables") or [statement.this]
    for table in tables:
        database = st.resolve_database(session, table.db or session.database)
        if database != st.FILES:
            raise NotSupported(f"Tables can be dropped only from 'files' (not '{database}'); "
                               "to remove a model use DROP MODEL")
        try:
            session.instance.files.drop_table(table.name)
            dropped += 1
        except UnknownTable:
            if not statement.args.get("exists"):
                raise UnknownTable(f"Unknown table '{database}.{table.name}'", code=1051) from None
    return Result.ok(dropped)
