"""USE, projects, linked databases and file tables."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from sqlglot import exp

from augurdb.errors import AlreadyExists, NotSupported, UnknownDatabase, UnknownTable, WrongArguments
from augurdb.executor import system_tables as st
from augurdb.executor.dispatch import run_statement
from augurdb.instance import DEFAULT_PROJECT
from augurdb.jobs.training import model_dir
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
    if statement.args["kind"] != "PROJECT" and engine:
        raise NotSupported(
            f"There is no data engine '{engine}' in this version of augurdb: upload files with "
            "PUT /api/files/<name> or `augurdb load`, or create a project with CREATE PROJECT")
    existing = {n.lower() for n in st.database_names(session)}
    if name.lower() in existing:
        if statement.args.get("exists"):
            return Result.ok()
        raise AlreadyExists(f"Can't create database '{name}'; database exists", code=1007, sqlstate="HY000")
    session.instance.catalog.add_project(name)
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
        return Result.ok()
    records = catalog.models(project=name)
    catalog.drop_project(name)
    for record in records:
        session.instance.models.evict(record.id or 0)
        shutil.rmtree(model_dir(session.instance.data_dir, record.id or 0), ignore_errors=True)
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
