"""Tables the server makes up from its own state: information_schema, <project>.models, SHOW answers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from augurdb import __version__
from augurdb.catalog.records import IntegrationRecord, ModelRecord
from augurdb.catalog.secrets import masked
from augurdb.errors import AugurError, UnknownDatabase, UnknownTable
from augurdb.executor.types import arrow_type_of_dtype, column_facts, data_type, is_numeric_dtype, mysql_type
from augurdb.integrations.data.base import DataIntegration, SourceError, TableName

if TYPE_CHECKING:
    from augurdb.session import Session

INFORMATION_SCHEMA = "information_schema"
FILES = "files"


def table(rows: list[dict[str, Any]], columns: list[tuple[str, pa.DataType]]) -> pa.Table:
    """An Arrow table from row dicts, with the given column order and types."""
    schema = pa.schema([pa.field(name, dtype) for name, dtype in columns])
    return pa.Table.from_pylist([{c: r.get(c) for c, _ in columns} for r in rows], schema=schema)


# --- databases and tables ----------------------------------------------------------


def database_kinds(session: Session) -> list[tuple[str, str, str | None]]:
    """(name, type, engine) of every database: system, projects, files, integrations."""
    kinds: list[tuple[str, str, str | None]] = [(INFORMATION_SCHEMA, "system", None)]
    kinds += [(p, "project", None) for p in session.instance.catalog.projects()]
    kinds.append((FILES, "data", "files"))
    kinds += [(i.name, "data", i.engine) for i in session.instance.catalog.integrations()]
    return kinds


def database_names(session: Session) -> list[str]:
    return [name for name, _, _ in database_kinds(session)]


def resolve_database(session: Session, name: str) -> str:
    """The stored spelling of a database name (names are case-insensitive); UnknownDatabase if none."""
    for candidate in database_names(session):
        if candidate.lower() == name.lower():
            return candidate
    raise UnknownDatabase(f"Unknown database '{name}'")


def linked_source(session: Session, database: str) -> DataIntegration | None:
    """The live integration of a linked database, or None for projects, files and system databases."""
    for record in session.instance.catalog.integrations():
        if record.name.lower() == database.lower():
            return session.instance.sources.get(record)
    return None


def linked_table_name(source: DataIntegration, name: str) -> TableName:
    """`schema.table` or `table` (in the default schema) as listed by SHOW TABLES."""
    schema, dot, table = name.rpartition(".")
    if dot and source.capabilities.schemas:
        return TableName(table, schema)
    return TableName(name, source.default_schema if source.capabilities.schemas else None)


def tables_of(session: Session, database: str, schema: str | None = None) -> list[tuple[str, str]]:
    """(table name, table type) of one database; a linked database's tables outside its default
    schema are listed as schema.table."""
    database = resolve_database(session, database)
    source = linked_source(session, database)
    if source is not None:
        listed = source.tables(schema)
        return [(t.name if schema or t.schema in (None, source.default_schema) else f"{t.schema}.{t.name}", t.kind)
                for t in listed]
    if database == INFORMATION_SCHEMA:
        return [(name.upper(), "SYSTEM VIEW") for name in INFORMATION_SCHEMA_TABLES]
    if database == FILES:
        return [(name, "BASE TABLE") for name in session.instance.files.tables()]
    if database in session.instance.catalog.projects():
        names = sorted({m.name for m in session.instance.catalog.models(project=database)})
        return [("models", "SYSTEM VIEW")] + [(n, "MODEL") for n in names]
    return []


def columns_of(session: Session, database: str, name: str) -> list[tuple[str, pa.DataType]]:
    """(column, Arrow type) of a table, file or model."""
    database = resolve_database(session, database)
    if database == FILES:
        return [(f.name, f.type) for f in session.instance.files.schema(name)]
    source = linked_source(session, database)
    if source is not None:
        return [(f.name, f.type) for f in source.schema(linked_table_name(source, name))]
    if database == INFORMATION_SCHEMA:
        builder = INFORMATION_SCHEMA_TABLES.get(name.lower())
        if builder is None:
            raise UnknownTable(f"Table '{database}.{name}' doesn't exist")
        return [(f.name, f.type) for f in builder(session).schema]
    if database in session.instance.catalog.projects():
        if name.lower() == "models":
            return [(f.name, f.type) for f in models_table(session, database).schema]
        record = session.active_model(database, name)
        return model_columns(record)
    raise UnknownTable(f"Table '{database}.{name}' doesn't exist")


def model_columns(record: ModelRecord) -> list[tuple[str, pa.DataType]]:
    """What SELECT * FROM model returns: the prediction, its confidence and explanation, then the inputs."""
    dtypes = record.dtype_dict or {}
    return model_output_columns(record) + [(c, arrow_type_of_dtype(dtypes.get(c))) for c in record.input_columns or []]


def model_output_columns(record: ModelRecord) -> list[tuple[str, pa.DataType]]:
    """The columns a model computes: a condition on one of them filters rows, on any other sets an input."""
    if record.model_schema:  # declared by the model's engine at CREATE
        return [(name, arrow_type_of_dtype(kind)) for name, kind in record.model_schema["outputs"]]
    dtypes = record.dtype_dict or {}
    target = record.predict
    columns = [(target, arrow_type_of_dtype(dtypes.get(target))), (f"{target}_confidence", pa.float64()),
               (f"{target}_explain", pa.string())]
    if is_numeric_dtype(dtypes.get(target)):
        columns += [(f"{target}_min", pa.float64()), (f"{target}_max", pa.float64())]
    return columns


# --- the models table ---------------------------------------------------------------

MODEL_TABLE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("NAME", pa.string()), ("ENGINE", pa.string()), ("PROJECT", pa.string()), ("ACTIVE", pa.bool_()),
    ("VERSION", pa.int64()), ("STATUS", pa.string()), ("ACCURACY", pa.float64()), ("PREDICT", pa.string()),
    ("UPDATE_STATUS", pa.string()), ("MINDSDB_VERSION", pa.string()), ("ERROR", pa.string()),
    ("SELECT_DATA_QUERY", pa.string()), ("TRAINING_OPTIONS", pa.string()), ("TAG", pa.string()),
    ("CREATED_AT", pa.timestamp("s")), ("TRAINING_TIME", pa.float64()),
    ("CURRENT_TRAINING_PHASE", pa.int64()), ("TOTAL_TRAINING_PHASES", pa.int64()),
    ("TRAINING_PHASE_NAME", pa.string()),
]


def model_row(record: ModelRecord) -> dict[str, Any]:
    return {
        "NAME": record.name, "ENGINE": record.engine, "PROJECT": record.project, "ACTIVE": record.active,
        "VERSION": record.version, "STATUS": record.status, "ACCURACY": record.accuracy,
        "PREDICT": record.predict, "UPDATE_STATUS": "up_to_date", "MINDSDB_VERSION": __version__,
        "ERROR": record.error, "SELECT_DATA_QUERY": record.select_data_query,
        "TRAINING_OPTIONS": json.dumps(_shown_options(record.training_options)), "TAG": record.tag,
        "CREATED_AT": int(record.created_at), "TRAINING_TIME": record.training_time,
        "CURRENT_TRAINING_PHASE": record.current_phase, "TOTAL_TRAINING_PHASES": record.total_phases,
        "TRAINING_PHASE_NAME": record.phase_name,
    }


def _shown_options(options: dict[str, Any]) -> dict[str, Any]:
    """A model's options with secret values (api_token, password, ...) as ******."""
    from augurdb.executor.ml_engines import masked_options

    return {**options, "using": masked_options(dict(options.get("using") or {}))}


def models_table(session: Session, project: str | None = None) -> pa.Table:
    records = session.instance.catalog.models(project=project)
    return table([model_row(r) for r in records], MODEL_TABLE_COLUMNS)


# --- information_schema ------------------------------------------------------------


def _schemata(session: Session) -> pa.Table:
    rows = [{"CATALOG_NAME": "def", "SCHEMA_NAME": name, "DEFAULT_CHARACTER_SET_NAME": "utf8mb4",
             "DEFAULT_COLLATION_NAME": "utf8mb4_0900_ai_ci", "SQL_PATH": None, "TYPE": kind, "ENGINE": engine}
            for name, kind, engine in database_kinds(session)]
    return table(rows, [("CATALOG_NAME", pa.string()), ("SCHEMA_NAME", pa.string()),
                        ("DEFAULT_CHARACTER_SET_NAME", pa.string()), ("DEFAULT_COLLATION_NAME", pa.string()),
                        ("SQL_PATH", pa.string()), ("TYPE", pa.string()), ("ENGINE", pa.string())])


def _tables(session: Session) -> pa.Table:
    rows = []
    for database in database_names(session):
        try:
            listed = tables_of(session, database)
        except SourceError:  # a linked database that is down lists no tables, the rest still answer
            continue
        for name, kind in listed:
            rows.append({"TABLE_CATALOG": "def", "TABLE_SCHEMA": database, "TABLE_NAME": name,
                         "TABLE_TYPE": kind, "ENGINE": None if kind == "MODEL" else "augurdb",
                         "VERSION": 10, "ROW_FORMAT": "Dynamic", "TABLE_ROWS": row_count(session, database, name),
                         "CREATE_TIME": None, "UPDATE_TIME": None, "TABLE_COLLATION": "utf8mb4_0900_ai_ci",
                         "TABLE_COMMENT": ""})
    return table(rows, [("TABLE_CATALOG", pa.string()), ("TABLE_SCHEMA", pa.string()), ("TABLE_NAME", pa.string()),
                        ("TABLE_TYPE", pa.string()), ("ENGINE", pa.string()), ("VERSION", pa.int64()),
                        ("ROW_FORMAT", pa.string()), ("TABLE_ROWS", pa.int64()),
                        ("CREATE_TIME", pa.timestamp("s")), ("UPDATE_TIME", pa.timestamp("s")),
                        ("TABLE_COLLATION", pa.string()), ("TABLE_COMMENT", pa.string())])


def row_count(session: Session, database: str, name: str) -> int | None:
    """Rows of a file table (known without reading it); None for other tables."""
    if database == FILES:
        record = session.instance.catalog.file(name)
        return record.row_count if record else None
    return None


# MySQL 8's information_schema.COLUMNS, every column in its order: JDBC's getColumns (DBeaver
# expanding a table) reads CHARACTER_OCTET_LENGTH, DATETIME_PRECISION, ... by name.
COLUMNS_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("TABLE_CATALOG", pa.string()), ("TABLE_SCHEMA", pa.string()), ("TABLE_NAME", pa.string()),
    ("COLUMN_NAME", pa.string()), ("ORDINAL_POSITION", pa.int64()), ("COLUMN_DEFAULT", pa.string()),
    ("IS_NULLABLE", pa.string()), ("DATA_TYPE", pa.string()), ("CHARACTER_MAXIMUM_LENGTH", pa.int64()),
    ("CHARACTER_OCTET_LENGTH", pa.int64()), ("NUMERIC_PRECISION", pa.int64()), ("NUMERIC_SCALE", pa.int64()),
    ("DATETIME_PRECISION", pa.int64()), ("CHARACTER_SET_NAME", pa.string()), ("COLLATION_NAME", pa.string()),
    ("COLUMN_TYPE", pa.string()), ("COLUMN_KEY", pa.string()), ("EXTRA", pa.string()),
    ("PRIVILEGES", pa.string()), ("COLUMN_COMMENT", pa.string()), ("GENERATION_EXPRESSION", pa.string()),
    ("SRS_ID", pa.int64()),
]


def _columns(session: Session) -> pa.Table:
    rows = []
    for database in database_names(session):
        if database == INFORMATION_SCHEMA:
            continue
        for name, _ in tables_of(session, database):
            try:
                columns = columns_of(session, database, name)
            except AugurError:  # a model still training, a linked database that is down
                continue
            for position, (column, dtype) in enumerate(columns, start=1):
                rows.append({"TABLE_CATALOG": "def", "TABLE_SCHEMA": database, "TABLE_NAME": name,
                             "COLUMN_NAME": column, "ORDINAL_POSITION": position, "COLUMN_DEFAULT": None,
                             "IS_NULLABLE": "YES", "DATA_TYPE": data_type(dtype), **column_facts(dtype),
                             "COLUMN_TYPE": mysql_type(dtype), "COLUMN_KEY": "", "EXTRA": "",
                             "PRIVILEGES": "select", "COLUMN_COMMENT": "", "GENERATION_EXPRESSION": "",
                             "SRS_ID": None})
    return table(rows, COLUMNS_COLUMNS)


def _engines(session: Session) -> pa.Table:
    from augurdb.executor.ml_engines import shown_parameters
    from augurdb.integrations.ml.registry import engine_names

    rows = [{"NAME": n, "HANDLER": n, "CONNECTION_DATA": "{}"} for n in engine_names()]
    rows += [{"NAME": r.name, "HANDLER": r.handler, "CONNECTION_DATA": json.dumps(shown_parameters(session, r))}
             for r in session.instance.catalog.ml_engines()]
    return table(rows, [("NAME", pa.string()), ("HANDLER", pa.string()), ("CONNECTION_DATA", pa.string())])


def _databases(session: Session) -> pa.Table:
    """MindsDB's information_schema.databases; CONNECTION_DATA has every secret as ******."""
    shown = {r.name: json.dumps(masked_parameters(r)) for r in session.instance.catalog.integrations()}
    rows = [{"NAME": n, "TYPE": k, "ENGINE": e, "CONNECTION_DATA": shown.get(n)} for n, k, e in database_kinds(session)]
    return table(rows, [("NAME", pa.string()), ("TYPE", pa.string()), ("ENGINE", pa.string()),
                        ("CONNECTION_DATA", pa.string())])


def masked_parameters(record: IntegrationRecord) -> dict[str, Any]:
    """A linked database's parameters as users may see them."""
    from augurdb.integrations.data.registry import get_data_engine

    return masked(record.parameters, get_data_engine(record.engine).secret_parameters | {"password"})


def _empty(*names: str) -> Callable[[Session], pa.Table]:
    return lambda session: table([], [(n, pa.string()) for n in names])


def _processlist(session: Session) -> pa.Table:
    from augurdb.executor.processes import processlist_table

    return processlist_table(session, full=True).rename_columns(
        ["ID", "USER", "HOST", "DB", "COMMAND", "TIME", "STATE", "INFO"])


INFORMATION_SCHEMA_TABLES: dict[str, Callable[[Session], pa.Table]] = {
    "schemata": _schemata,
    "tables": _tables,
    "columns": _columns,
    "models": lambda session: models_table(session),
    "databases": _databases,
    "ml_engines": _engines,
    "processlist": lambda session: _processlist(session),
    "engines": lambda session: engines_table(),
    "statistics": _empty("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "NON_UNIQUE", "INDEX_SCHEMA",
                         "INDEX_NAME", "SEQ_IN_INDEX", "COLUMN_NAME"),
    "key_column_usage": _empty("CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA", "CONSTRAINT_NAME", "TABLE_CATALOG",
                               "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "REFERENCED_TABLE_SCHEMA",
                               "REFERENCED_TABLE_NAME", "REFERENCED_COLUMN_NAME"),
    "routines": _empty("SPECIFIC_NAME", "ROUTINE_CATALOG", "ROUTINE_SCHEMA", "ROUTINE_NAME", "ROUTINE_TYPE"),
    "views": _empty("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "VIEW_DEFINITION"),
    "events": _empty("EVENT_CATALOG", "EVENT_SCHEMA", "EVENT_NAME"),
    "triggers": _empty("TRIGGER_CATALOG", "TRIGGER_SCHEMA", "TRIGGER_NAME"),
    "referential_constraints": _empty("CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA", "CONSTRAINT_NAME"),
    "table_constraints": _empty("CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA", "CONSTRAINT_NAME", "TABLE_SCHEMA",
                                "TABLE_NAME", "CONSTRAINT_TYPE"),
    "character_sets": lambda session: charsets_table(),
    "collations": lambda session: collations_table(),
    "plugins": _empty("PLUGIN_NAME", "PLUGIN_VERSION", "PLUGIN_STATUS", "PLUGIN_TYPE"),
    "partitions": _empty("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "PARTITION_NAME"),
    "parameters": _empty("SPECIFIC_CATALOG", "SPECIFIC_SCHEMA", "SPECIFIC_NAME", "PARAMETER_NAME"),
    "user_privileges": _empty("GRANTEE", "TABLE_CATALOG", "PRIVILEGE_TYPE", "IS_GRANTABLE"),
}


# --- fixed answers for client probes --------------------------------------------------


def engines_table() -> pa.Table:
    rows = [{"Engine": "augurdb", "Support": "DEFAULT", "Comment": "augurdb tables, files and models",
             "Transactions": "NO", "XA": "NO", "Savepoints": "NO"}]
    return table(rows, [(c, pa.string()) for c in ("Engine", "Support", "Comment", "Transactions", "XA",
                                                   "Savepoints")])


def charsets_table() -> pa.Table:
    rows = [{"Charset": "utf8mb4", "Description": "UTF-8 Unicode", "Default collation": "utf8mb4_0900_ai_ci",
             "Maxlen": 4},
            {"Charset": "utf8", "Description": "UTF-8 Unicode", "Default collation": "utf8_general_ci",
             "Maxlen": 3},
            {"Charset": "latin1", "Description": "cp1252 West European",
             "Default collation": "latin1_swedish_ci", "Maxlen": 1},
            {"Charset": "binary", "Description": "Binary pseudo charset", "Default collation": "binary",
             "Maxlen": 1}]
    return table(rows, [("Charset", pa.string()), ("Description", pa.string()),
                        ("Default collation", pa.string()), ("Maxlen", pa.int64())])


def collations_table() -> pa.Table:
    rows = [{"Collation": "utf8mb4_0900_ai_ci", "Charset": "utf8mb4", "Id": 255, "Default": "Yes",
             "Compiled": "Yes", "Sortlen": 0, "Pad_attribute": "NO PAD"},
            {"Collation": "utf8mb4_general_ci", "Charset": "utf8mb4", "Id": 45, "Default": "",
             "Compiled": "Yes", "Sortlen": 1, "Pad_attribute": "PAD SPACE"},
            {"Collation": "utf8_general_ci", "Charset": "utf8", "Id": 33, "Default": "Yes",
             "Compiled": "Yes", "Sortlen": 1, "Pad_attribute": "PAD SPACE"},
            {"Collation": "latin1_swedish_ci", "Charset": "latin1", "Id": 8, "Default": "Yes",
             "Compiled": "Yes", "Sortlen": 1, "Pad_attribute": "PAD SPACE"},
            {"Collation": "binary", "Charset": "binary", "Id": 63, "Default": "Yes",
             "Compiled": "Yes", "Sortlen": 1, "Pad_attribute": "NO PAD"}]
    return table(rows, [("Collation", pa.string()), ("Charset", pa.string()), ("Id", pa.int64()),
                        ("Default", pa.string()), ("Compiled", pa.string()), ("Sortlen", pa.int64()),
                        ("Pad_attribute", pa.string())])


def status_table(session: Session) -> pa.Table:
    uptime = int(time.time() - session.instance.started_at)
    version, cipher = session.tls or ("", "")  # what MySQL shows for this connection
    rows = [{"Variable_name": "Uptime", "Value": str(uptime)},
            {"Variable_name": "Threads_connected", "Value": str(max(len(session.instance.processes.all()), 1))},
            {"Variable_name": "Ssl_version", "Value": version},
            {"Variable_name": "Ssl_cipher", "Value": cipher},
            {"Variable_name": "Questions", "Value": "0"}]
    return table(rows, [("Variable_name", pa.string()), ("Value", pa.string())])
