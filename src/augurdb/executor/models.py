"""CREATE MODEL, RETRAIN, DROP MODEL, SET active and DESCRIBE."""

from __future__ import annotations

import copy
import shutil
import time
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from augurdb.catalog.records import ModelRecord
from augurdb.errors import (
    AlreadyExists,
    AugurError,
    NotSupported,
    UnknownColumn,
    UnknownDatabase,
    UnknownTable,
    WrongArguments,
)
from augurdb.executor import system_tables as st
from augurdb.executor.dispatch import run_statement
from augurdb.executor.ml_engines import resolve_engine
from augurdb.integrations.ml.base import SERVER_OPTIONS
from augurdb.integrations.ml.registry import get_engine
from augurdb.planner.snapshot import Snapshot
from augurdb.result import Result
from augurdb.sql import ast
from augurdb.sql.parser import parse

if TYPE_CHECKING:
    from augurdb.session import Session

_INFO_COLUMNS = [c for c in st.MODEL_TABLE_COLUMNS if not c[0].startswith(("CURRENT_", "TOTAL_", "TRAINING_PH"))]


def _project(session: Session, name: str | None) -> str:
    project = st.resolve_database(session, name or session.database)
    if project not in session.instance.catalog.projects():
        raise UnknownDatabase(f"'{project}' is not a project: models live in projects (e.g. mindsdb)")
    return project


def _model_name(table: exp.Table) -> str:
    identifier = table.this
    return identifier.name if identifier.args.get("quoted") else identifier.name.lower()


def _info(record: ModelRecord) -> Result:
    return Result.rows(st.table([st.model_row(record)], _INFO_COLUMNS))


@run_statement.register(ast.CreateModel)
def _create_model(statement: ast.CreateModel, session: Session) -> Result:
    if statement.args.get("order_by") or statement.args.get("group_by") or statement.args.get("window"):
        raise NotSupported("Time-series models (ORDER BY / GROUP BY / WINDOW / HORIZON) are not supported yet")
    table = statement.this
    project, name = _project(session, table.db), _model_name(table)
    catalog = session.instance.catalog
    existing = catalog.models(project=project, name=name)
    if existing and not statement.args.get("replace"):
        if statement.args.get("exists"):
            return _info(existing[-1])
        raise AlreadyExists(f"Model already exists: {project}.{name}")
    engine, using = resolve_engine(session, ast.using_of(statement))
    engine_name = ast.using_of(statement).get("engine")
    targets = statement.args["targets"]
    if len(targets) != 1:
        raise NotSupported("PREDICT takes one target column")
    record = ModelRecord(project=project, name=name, version=1, engine=engine,
                         predict=targets[0], source=statement.args.get("source"),
                         select_data_query=statement.args.get("query"), tag=using.get("tag"),
                         training_options=_training_options(targets[0], using, engine_name),
                         created_at=time.time())
    return _train(session, record, replace=bool(existing), wait=bool(using.get("join_learn_process")))


@run_statement.register(ast.Retrain)
def _retrain(statement: ast.Retrain, session: Session) -> Result:
    table = statement.this
    project, name = _project(session, table.db), _model_name(table)
    versions = session.instance.catalog.models(project=project, name=name)
    if not versions:
        raise UnknownTable(f"Model '{project}.{name}' doesn't exist")
    base = next((v for v in versions if v.active), versions[-1])
    given = ast.using_of(statement)
    # The engine instance the model was made with, read again: its parameters may have changed
    # (CREATE OR REPLACE ML_ENGINE, a new version of uploaded code).
    engine_name = given.get("engine") or base.training_options.get("engine_name")
    engine, using = resolve_engine(session, {**given, "engine": engine_name} if engine_name else given)
    if not engine_name:
        engine = base.engine
    using = {**base.training_options.get("using", {}), **using}
    target = (statement.args.get("targets") or [base.predict])[0]
    record = copy.copy(base)
    record.id, record.version, record.active = None, max(v.version for v in versions) + 1, False
    record.status, record.error, record.accuracy = "generating", None, None
    record.training_started_at = record.training_stopped_at = record.current_phase = None
    record.engine, record.predict, record.created_at = engine, target, time.time()
    record.source = statement.args.get("source") or base.source
    record.select_data_query = statement.args.get("query") or base.select_data_query
    record.training_options = _training_options(target, using, engine_name)
    return _train(session, record, replace=False, wait=bool(using.get("join_learn_process")))


def _training_options(target: str, using: dict[str, Any], engine_name: str | None) -> dict[str, Any]:
    engine_options = {k: v for k, v in using.items() if k not in SERVER_OPTIONS}
    return {"target": target, "using": engine_options, "engine_name": engine_name,
            "activate": str(using.get("active", 1)) not in ("0", "False")}


def _train(session: Session, record: ModelRecord, *, replace: bool, wait: bool) -> Result:
    """Validate, run the source query, then hand the rows to a training worker."""
    engine = get_engine(record.engine)
    engine.validate(record.predict, record.training_options["using"])
    capabilities = engine.capabilities
    if not capabilities.needs_training_data or (capabilities.links and not record.select_data_query):
        return _link(session, record, engine, replace=replace)
    data = _training_data(session, record)
    engine.validate_data(data, record.predict, record.training_options["using"])
    instance = session.instance
    old = instance.catalog.models(project=record.project, name=record.name) if replace else []
    # The rows go under a fresh name first; the model and its queued run are then one transaction.
    rows_name = instance.artifacts.new_training_data()
    rows_path = instance.artifacts.training_data(rows_name)
    try:
        pq.write_table(data, rows_path)
        stored = instance.catalog.insert_model(record, replace_existing=replace, training_data=rows_name)
    except BaseException:
        rows_path.unlink(missing_ok=True)
        raise
    _forget(session, old)
    instance.jobs.submit(stored.id or 0)
    if wait:
        instance.jobs.wait(stored.id or 0)
    return _info(instance.catalog.model(stored.id or 0) or stored)


def _link(session: Session, record: ModelRecord, engine: Any, *, replace: bool) -> Result:
    """A model trained elsewhere: its engine checks the endpoint and declares its columns before
    anything is stored; it is ready at once."""
    catalog = session.instance.catalog
    staging = session.instance.artifacts.staging_dir(0, f"linking-{time.time_ns()}")
    try:
        schema = engine.link(record.predict, record.training_options["using"], staging)
        record.status, record.model_schema = "complete", schema.to_json()
        record.input_columns = [name for name, _ in schema.inputs]
        record.dtype_dict = {name: kind for name, kind in (*schema.inputs, *schema.outputs)}
        record.training_started_at = record.training_stopped_at = time.time()
        old = catalog.models(project=record.project, name=record.name) if replace else []
        stored = catalog.insert_model(record, replace_existing=replace)
        session.instance.artifacts.publish(staging, stored.id or 0)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _forget(session, old)
    if record.training_options.get("activate", True):
        catalog.activate_model(stored.id or 0)
    return _info(catalog.model(stored.id or 0) or stored)


def _training_data(session: Session, record: ModelRecord) -> pa.Table:
    from augurdb.executor.queries import run_query

    if not record.select_data_query:
        raise WrongArguments(f"Engine '{record.engine}' learns from data: "
                             "CREATE MODEL name FROM db (SELECT ...) PREDICT column")
    linked = st.linked_source(session, record.source) if record.source else None
    if linked is not None:  # MindsDB's meaning: the query is the linked database's own SQL
        data = linked.scan(record.select_data_query).read_all()
    else:
        statements = parse(record.select_data_query)
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise WrongArguments("The training data must be one SELECT query")
        source_session = copy.copy(session)
        source_session.database = st.resolve_database(session, record.source or session.database)
        data = run_query(source_session, statements[0])
    by_lower = {c.lower(): c for c in data.column_names}
    if record.predict.lower() not in by_lower:
        raise UnknownColumn(f"Unknown column '{record.predict}' to predict: the training data has "
                            f"{', '.join(data.column_names)}")
    if by_lower[record.predict.lower()] != record.predict:
        data = data.rename_columns([record.predict if c.lower() == record.predict.lower() else c
                                    for c in data.column_names])
    if data.num_rows == 0:
        raise WrongArguments("The training query returned no rows")
    return data


def remove_models(session: Session, records: list[ModelRecord], then: Any = None) -> None:
    """Delete model versions from the catalog (and `then` what else goes in the statement), then
    stop their runs and remove their files and training rows."""
    instance = session.instance
    model_ids = [r.id or 0 for r in records]
    training_rows = instance.jobs.queue.training_data_of(model_ids)
    instance.catalog.delete_models(model_ids)
    if then is not None:
        then()
    _forget(session, records)
    for name in training_rows:
        instance.artifacts.training_data(name).unlink(missing_ok=True)


def _forget(session: Session, records: list[ModelRecord]) -> None:
    """Stop the runs and remove the files of model versions no longer in the catalog."""
    for record in records:
        session.instance.jobs.cancel(record.id or 0)
        session.instance.models.evict(record.id or 0)
        session.instance.artifacts.remove(record.id or 0)


@run_statement.register(ast.DropModel)
def _drop_model(statement: ast.DropModel, session: Session) -> Result:
    table = statement.this
    catalog = session.instance.catalog
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    version = parts.pop() if len(parts) > 1 and parts[-1].isdigit() else None
    project = _project(session, parts[0] if len(parts) == 2 else None)
    name = parts[-1] if table.this.args.get("quoted") or version else parts[-1].lower()
    records = catalog.models(project=project, name=name) or catalog.models(project=project, name=name.lower())
    if version is not None:
        records = [r for r in records if str(r.version) == version]
        if records and records[0].active:
            raise WrongArguments(f"Can't remove active version: {project}.{name}.{version}")
    if not records:
        if statement.args.get("exists"):
            return Result.ok()
        what = f"{project}.{name}" + (f".{version}" if version else "")
        raise UnknownTable(f"Model '{what}' doesn't exist")
    remove_models(session, records)
    return Result.ok(len(records))


@run_statement.register(ast.SetActive)
def _set_active(statement: ast.SetActive, session: Session) -> Result:
    table = statement.this
    if not table.name.isdigit() or not table.db:
        raise WrongArguments("SET active takes [project.]model.version, e.g. SET active mindsdb.m.2")
    project = _project(session, table.catalog or None)
    record = session.model_version(project, table.db, table.name)
    if record.status != "complete":
        raise WrongArguments(f"Version {record.version} of {project}.{record.name} is '{record.status}': "
                             "only a complete version can be made active")
    session.instance.catalog.activate_model(record.id or 0)
    return Result.ok(1)


@run_statement.register(ast.DescribeModel)
def _describe_model(statement: ast.DescribeModel, session: Session) -> Result:
    return _describe_parts(session, list(statement.args["parts"]), model_only=True)


def describe(statement: exp.Describe, session: Session) -> Result:
    """DESCRIBE a model (its facts) or a table (its columns); EXPLAIN is in executor/queries.py."""
    table = statement.this
    if not isinstance(table, exp.Table):
        raise NotSupported("DESCRIBE takes a table or model name")
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    if not parts:  # DESCRIBE ``
        raise AugurError(f"Incorrect table name '{table.name}'", code=1103, sqlstate="42000")
    return _describe_parts(session, parts, model_only=False)


def _describe_parts(session: Session, parts: list[str], *, model_only: bool) -> Result:
    # `m.1.info` tokenises as m, `1.info`: a version number swallows the dot after it.
    parts = [piece for part in parts for piece in part.split(".")]
    snapshot = Snapshot.take(session)
    projects = {p.lower(): p for p in snapshot.projects}
    if len(parts) > 1 and parts[0].lower() in projects and (projects[parts[0].lower()], parts[1].lower()) in \
            snapshot.models:
        project, rest = projects[parts[0].lower()], parts[1:]
    elif session.database in snapshot.projects and (session.database, parts[0].lower()) in snapshot.models:
        project, rest = session.database, parts
    elif model_only:
        raise UnknownTable(f"Model '{'.'.join(parts)}' doesn't exist")
    else:
        return _describe_table(session, parts)
    name, rest = rest[0], rest[1:]
    record = snapshot.model_version(project, name, rest.pop(0)) if rest and rest[0].isdigit() \
        else snapshot.active_model(project, name)
    if not rest:
        return _describe_summary(session, record)
    model = session.instance.models.get(record)
    return Result.rows(model.describe(".".join(rest)))


def _describe_summary(session: Session, record: ModelRecord) -> Result:
    tables: list[str] = []
    if record.status == "complete":
        listing = session.instance.models.get(record).describe(None)
        tables = [str(v) for v in listing.column(0).to_pylist()] if listing.num_columns else []
    row = {"TABLES": str(tables), **st.model_row(record)}
    return Result.rows(st.table([row], [("TABLES", pa.string()), *_INFO_COLUMNS]))


def _describe_table(session: Session, parts: list[str]) -> Result:
    from augurdb.executor.client_statements import show_columns

    if len(parts) > 2:
        raise UnknownTable(f"Table '{'.'.join(parts)}' doesn't exist")
    show = exp.Show(this="COLUMNS", target=exp.to_identifier(parts[-1]),
                    db=exp.to_identifier(parts[0]) if len(parts) == 2 else None)
    return Result.rows(show_columns(session, show))
