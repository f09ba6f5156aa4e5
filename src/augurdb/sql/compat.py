"""Client probes inside queries, rewritten: @@version_comment, @@session.x, DATABASE(), USER(), ...

Pure tree rewrites and the session variables they read; the statements clients send on
connect (SET, SHOW, transactions) run in executor/client_statements.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from augurdb import __version__
from augurdb.errors import UnknownVariable

if TYPE_CHECKING:
    from augurdb.session import Session

MYSQL_VERSION = "8.0.36"


def default_variables() -> dict[str, Any]:
    """The system variables a new session starts with."""
    return {
        "version": f"{MYSQL_VERSION}-augurdb-{__version__}",
        "version_comment": "augurdb",
        "version_compile_os": "Linux",
        "version_compile_machine": "x86_64",
        "autocommit": 1,
        "sql_mode": "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
        "character_set_client": "utf8mb4",
        "character_set_connection": "utf8mb4",
        "character_set_results": "utf8mb4",
        "character_set_server": "utf8mb4",
        "character_set_database": "utf8mb4",
        "character_set_system": "utf8mb3",
        "collation_connection": "utf8mb4_0900_ai_ci",
        "collation_server": "utf8mb4_0900_ai_ci",
        "collation_database": "utf8mb4_0900_ai_ci",
        "init_connect": "",
        "interactive_timeout": 28800,
        "wait_timeout": 28800,
        "net_write_timeout": 60,
        "net_read_timeout": 30,
        "net_buffer_length": 16384,
        "max_allowed_packet": 67108864,
        "lower_case_table_names": 0,
        "license": "Apache-2.0",
        "performance_schema": 0,
        "query_cache_size": 0,
        "query_cache_type": "OFF",
        "have_query_cache": "NO",
        "system_time_zone": "UTC",
        "time_zone": "SYSTEM",
        "transaction_isolation": "REPEATABLE-READ",
        "tx_isolation": "REPEATABLE-READ",
        "transaction_read_only": 0,
        "tx_read_only": 0,
        "auto_increment_increment": 1,
        "sql_select_limit": 18446744073709551615,
        "max_execution_time": 0,
        "have_ssl": "DISABLED",
        "default_storage_engine": "augurdb",
        "storage_engine": "augurdb",
        "sql_auto_is_null": 0,
        "div_precision_increment": 4,
        "protocol_version": 10,
        "hostname": "localhost",
    }


def server_variables(session: Session) -> dict[str, Any]:
    """Read-only variables that are facts of the running server, not of a session."""
    return {"port": session.instance.settings.mysql_port}


def session_variables(session: Session) -> dict[str, Any]:
    """Every system variable a session sees: its own and the server's."""
    return {**session.variables, **server_variables(session)}


# --- @@variables and info functions inside SELECT --------------------------------------


def rewrite_client_probes(session: Session, statement: exp.Expr, copy: bool = True) -> exp.Expr:
    """Replace @@variables, @user variables, DATABASE(), USER(), VERSION(), ... by their values.

    A replaced expression keeps the text the client wrote as its column name, as MySQL does.
    """
    if not any(statement.find_all(*_PROBE_NODES, exp.Anonymous)):
        return statement
    if copy:
        statement = statement.copy()
    for select in statement.find_all(exp.Select):
        for i, projection in enumerate(select.expressions):
            if not isinstance(projection, exp.Alias) and _has_probe(projection):
                select.expressions[i] = exp.alias_(projection, _client_text(projection), quoted=True)
                select.expressions[i].parent = select
    return statement.transform(lambda node: _probe_value(session, node), copy=False)


def name_columns_as_mysql(statement: exp.Expr, copy: bool = True) -> exp.Expr:
    """Unnamed computed columns are named by their SQL text, as MySQL names them (`count(*)`)."""
    selects = [statement] if isinstance(statement, exp.Select) else []
    if not any(not isinstance(p, exp.Alias | exp.Column | exp.Star) for s in selects for p in s.expressions):
        return statement
    if copy:
        statement = statement.copy()
    for i, projection in enumerate(statement.expressions):
        if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
            statement.expressions[i] = exp.alias_(projection, projection.sql("mysql"), quoted=True)
            statement.expressions[i].parent = statement
    return statement


def as_mysql_answers(session: Session, statement: exp.Expr) -> exp.Expr:
    """A copy of a query with client probes replaced and computed columns named as MySQL names
    them: one copy of the tree, which the caller owns (plan it with copy=False). A statement of
    100k IN-list values cost a copy per rewrite before."""
    return name_columns_as_mysql(rewrite_client_probes(session, statement.copy(), copy=False), copy=False)


def _has_probe(node: exp.Expr) -> bool:
    return any(_probe_value_or_none(n) for n in node.walk())


_PROBE_NODES = (exp.SessionParameter, exp.Parameter, exp.CurrentSchema, exp.CurrentUser, exp.CurrentVersion)


def _probe_value_or_none(node: exp.Expr) -> bool:
    return isinstance(node, _PROBE_NODES) or (
        isinstance(node, exp.Anonymous) and node.name.upper() in _INFO_FUNCTIONS)


def _client_text(node: exp.Expr) -> str:
    text = node.sql("mysql")
    if isinstance(node, exp.CurrentSchema):
        return "DATABASE()"
    return "VERSION()" if isinstance(node, exp.CurrentVersion) else text


_INFO_FUNCTIONS = {"CONNECTION_ID", "DATABASE", "SCHEMA", "USER", "CURRENT_USER", "SESSION_USER",
                   "SYSTEM_USER", "VERSION", "LAST_INSERT_ID", "FOUND_ROWS", "ROW_COUNT"}


def _probe_value(session: Session, node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.SessionParameter):
        return _literal(lookup_variable(session, node.name))
    if isinstance(node, exp.Parameter):
        return _literal(session.user_variables.get(node.name.lower()))
    if isinstance(node, exp.CurrentSchema):
        return _literal(session.database)
    if isinstance(node, exp.CurrentVersion):
        return _literal(session.variables["version"])
    if isinstance(node, exp.CurrentUser):
        return _literal(f"{session.user}@localhost")
    if isinstance(node, exp.Anonymous) and node.name.upper() in _INFO_FUNCTIONS:
        name = node.name.upper()
        values = {"CONNECTION_ID": session.connection_id or 1, "DATABASE": session.database,
                  "SCHEMA": session.database,
                  "VERSION": session.variables["version"], "LAST_INSERT_ID": 0, "FOUND_ROWS": 0,
                  "ROW_COUNT": -1}
        return _literal(values.get(name, f"{session.user}@localhost"))
    return node


def lookup_variable(session: Session, name: str) -> Any:
    key = name.lower()
    for prefix in ("session.", "global.", "local."):
        key = key.removeprefix(prefix)
    variables = session_variables(session)
    if key not in variables:
        raise UnknownVariable(f"Unknown system variable '{key}'")
    return variables[key]


def _literal(value: Any) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))
