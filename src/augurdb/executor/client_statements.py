"""What MySQL clients and BI tools run on connect: SET, transaction no-ops and SHOW.

SHOW answers are small Arrow tables; their LIKE and WHERE run in DuckDB like any other
query. The rewrites of client probes inside queries (@@version_comment, DATABASE(), ...)
are in sql/compat.py.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from augurdb.errors import AugurError, NotSupported, WrongArguments
from augurdb.executor import system_tables as st
from augurdb.executor.dispatch import run_statement
from augurdb.executor.processes import processlist_table
from augurdb.executor.types import mysql_type
from augurdb.result import Result
from augurdb.sql.compat import rewrite_client_probes, server_variables, session_variables
from augurdb.sql.parser import literal_value, to_duckdb

if TYPE_CHECKING:
    from augurdb.session import Session


# --- SET ---------------------------------------------------------------------------


@run_statement.register(exp.Set)
def _set(statement: exp.Set, session: Session) -> Result:
    for item in statement.expressions:
        _set_item(session, item)
    return Result.ok()


def _set_item(session: Session, item: exp.Expr) -> None:
    kind = (item.args.get("kind") or "").upper()
    target = item.this
    if kind in ("NAMES", "CHARACTER SET"):
        charset = item.this.name if item.this else "utf8mb4"
        for name in ("character_set_client", "character_set_connection", "character_set_results"):
            session.variables[name] = charset
        return
    if kind == "TRANSACTION":
        return
    if isinstance(target, exp.EQ | exp.PropertyEQ):
        name_node, value_node = target.this, target.expression
    else:
        return
    value = _set_value(session, value_node)
    if isinstance(name_node, exp.Parameter):
        session.user_variables[name_node.name.lower()] = value
        return
    name = name_node.name if isinstance(name_node, exp.SessionParameter) else name_node.sql("mysql")
    key = name.lower().replace("`", "")
    for prefix in ("@@session.", "@@global.", "@@local.", "@@", "session.", "global.", "local."):
        key = key.removeprefix(prefix)
    if key in server_variables(session):
        raise AugurError(f"Variable '{key}' is a read only variable", code=1238)
    session.variables[key] = value


def _set_value(session: Session, node: exp.Expr) -> Any:
    try:
        return literal_value(node)
    except Exception:
        table = session.local_sql(to_duckdb(exp.select(rewrite_client_probes(session, node))))
        return table.column(0)[0].as_py() if table.num_rows else None


# --- transactions: no-ops (models and files are not transactional) --------------------


@run_statement.register(exp.Transaction)
@run_statement.register(exp.Commit)
@run_statement.register(exp.Rollback)
def _transaction(statement: exp.Expr, session: Session) -> Result:
    return Result.ok()


# --- SHOW --------------------------------------------------------------------------


@run_statement.register(exp.Show)
def _show(statement: exp.Show, session: Session) -> Result:
    kind = statement.name.upper()
    answer = SHOW_ANSWERS.get(kind)
    if answer is None:
        raise NotSupported(f"SHOW {kind} is not supported")
    table = answer(session, statement)
    return Result.rows(_filter(session, table, statement))


def _filter(session: Session, table: pa.Table, statement: exp.Show) -> pa.Table:
    like, where = statement.args.get("like"), statement.args.get("where")
    if like is not None and table.num_columns:
        pattern = like.name
        first = table.column(0).to_pylist()
        keep = [_like(str(v), pattern) for v in first]
        table = table.filter(pa.array(keep, pa.bool_()))
    if where is not None:
        cursor = session.instance.duckdb.cursor()
        try:
            cursor.register("__augur_show", table)
            query = exp.select("*").from_("__augur_show").where(where.this.copy())
            table = session.translate_errors(lambda: cursor.sql(to_duckdb(query)).to_arrow_table())
        finally:
            cursor.close()
    return table


def _like(value: str, pattern: str) -> bool:
    glob = pattern.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
    glob = glob.replace("%", "*").replace("_", "?")
    return fnmatch.fnmatchcase(value.lower(), glob.lower())


def _target_db(session: Session, statement: exp.Show) -> str:
    db = statement.args.get("db")
    return st.resolve_database(session, db.name if db is not None else session.database)


def _show_target(statement: exp.Show) -> exp.Expr:
    target = statement.args.get("target")
    if target is None:
        raise WrongArguments(f"SHOW {statement.name} needs a name")
    return target


def _show_databases(session: Session, statement: exp.Show) -> pa.Table:
    kinds = st.database_kinds(session)
    if statement.args.get("full"):
        return st.table([{"Database": n, "TYPE": k, "ENGINE": e} for n, k, e in kinds],
                        [("Database", pa.string()), ("TYPE", pa.string()), ("ENGINE", pa.string())])
    return st.table([{"Database": n} for n, _, _ in kinds], [("Database", pa.string())])


def _show_tables(session: Session, statement: exp.Show) -> pa.Table:
    target = statement.args.get("db")
    name, _, schema = (target.name if target is not None else session.database).partition(".")
    db = st.resolve_database(session, name)
    column = f"Tables_in_{db}"
    rows = [{column: name, "Table_type": kind} for name, kind in st.tables_of(session, db, schema or None)]
    columns = [(column, pa.string())] + ([("Table_type", pa.string())] if statement.args.get("full") else [])
    return st.table(rows, columns)


def show_columns(session: Session, statement: exp.Show) -> pa.Table:
    target = _show_target(statement)
    db = _target_db(session, statement)
    columns = st.columns_of(session, db, target.name)
    full = statement.args.get("full")
    rows = []
    for name, dtype in columns:
        row = {"Field": name, "Type": mysql_type(dtype), "Null": "YES", "Key": "", "Default": None, "Extra": ""}
        if full:
            row.update({"Collation": None, "Privileges": "select", "Comment": ""})
        rows.append(row)
    names = ["Field", "Type"] + (["Collation"] if full else []) + ["Null", "Key", "Default", "Extra"] + (
        ["Privileges", "Comment"] if full else [])
    return st.table(rows, [(n, pa.string()) for n in names])


def _show_create_table(session: Session, statement: exp.Show) -> pa.Table:
    target = _show_target(statement)
    db = _target_db(session, statement)
    columns = st.columns_of(session, db, target.name)
    body = ",\n".join(f"  `{name}` {mysql_type(dtype)} DEFAULT NULL" for name, dtype in columns)
    text = f"CREATE TABLE `{target.name}` (\n{body}\n) ENGINE=augurdb DEFAULT CHARSET=utf8mb4"
    return st.table([{"Table": target.name, "Create Table": text}], [("Table", pa.string()),
                                                                    ("Create Table", pa.string())])


def _show_create_database(session: Session, statement: exp.Show) -> pa.Table:
    name = st.resolve_database(session, _show_target(statement).name)
    text = f"CREATE DATABASE `{name}` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"
    return st.table([{"Database": name, "Create Database": text}], [("Database", pa.string()),
                                                                   ("Create Database", pa.string())])


def _show_variables(session: Session, statement: exp.Show) -> pa.Table:
    rows = [{"Variable_name": k, "Value": "" if v is None else str(v)}
            for k, v in sorted(session_variables(session).items())]
    return st.table(rows, [("Variable_name", pa.string()), ("Value", pa.string())])


def _show_warnings(session: Session, statement: exp.Show) -> pa.Table:
    rows = [{"Level": level, "Code": code, "Message": message} for level, code, message in session.warnings]
    return st.table(rows, [("Level", pa.string()), ("Code", pa.int64()), ("Message", pa.string())])


def _show_models(session: Session, statement: exp.Show) -> pa.Table:
    db = statement.args.get("db")
    project = st.resolve_database(session, db.name) if db is not None else session.database
    return st.models_table(session, project)


def _show_projects(session: Session, statement: exp.Show) -> pa.Table:
    return st.table([{"project": p} for p in session.instance.catalog.projects()], [("project", pa.string())])


def _empty(*names: str) -> Callable[[Session, exp.Show], pa.Table]:
    return lambda session, statement: st.table([], [(n, pa.string()) for n in names])


SHOW_ANSWERS: dict[str, Callable[[Session, exp.Show], pa.Table]] = {
    "DATABASES": _show_databases,
    "TABLES": _show_tables,
    "COLUMNS": show_columns,
    "CREATE TABLE": _show_create_table,
    "CREATE DATABASE": lambda session, statement: _show_create_database(session, statement),
    "VARIABLES": _show_variables,
    "STATUS": lambda session, statement: st.status_table(session),
    "WARNINGS": _show_warnings,
    "ERRORS": _show_warnings,
    "ENGINES": lambda session, statement: st.engines_table(),
    "CHARACTER SET": lambda session, statement: st.charsets_table(),
    "COLLATION": lambda session, statement: st.collations_table(),
    "MODELS": _show_models,
    "PROJECTS": _show_projects,
    "ML_ENGINES": lambda session, statement: st.INFORMATION_SCHEMA_TABLES["ml_engines"](session),
    "HANDLERS": lambda session, statement: st.INFORMATION_SCHEMA_TABLES["ml_engines"](session),
    "INDEX": _empty("Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation",
                    "Cardinality", "Sub_part", "Packed", "Null", "Index_type", "Comment"),
    "TABLE STATUS": lambda session, statement: _table_status(session, statement),
    "FUNCTION STATUS": _empty("Db", "Name", "Type", "Definer", "Modified", "Created"),
    "PROCEDURE STATUS": _empty("Db", "Name", "Type", "Definer", "Modified", "Created"),
    "TRIGGERS": _empty("Trigger", "Event", "Table", "Statement", "Timing"),
    "EVENTS": _empty("Db", "Name", "Definer", "Time zone", "Type"),
    "PLUGINS": _empty("Name", "Status", "Type", "Library", "License"),
    "PROCESSLIST": lambda session, statement: processlist_table(session, bool(statement.args.get("full"))),
    "GRANTS": lambda session, statement: _show_grants(session),
    "PRIVILEGES": _empty("Privilege", "Context", "Comment"),
    "OPEN TABLES": _empty("Database", "Table", "In_use", "Name_locked"),
}


def _show_grants(session: Session) -> pa.Table:
    column = f"Grants for {session.user}@%"
    return st.table([{column: f"GRANT ALL PRIVILEGES ON *.* TO `{session.user}`@`%`"}], [(column, pa.string())])


def _table_status(session: Session, statement: exp.Show) -> pa.Table:
    db = _target_db(session, statement)
    rows = [{"Name": name, "Engine": "augurdb", "Version": 10, "Row_format": "Dynamic",
             "Rows": st.row_count(session, db, name), "Comment": kind} for name, kind in st.tables_of(session, db)]
    return st.table(rows, [("Name", pa.string()), ("Engine", pa.string()), ("Version", pa.int64()),
                           ("Row_format", pa.string()), ("Rows", pa.int64()), ("Comment", pa.string())])
