"""CREATE ML_ENGINE / DROP ML_ENGINE: configured instances of an ML engine (MindsDB's statements).

An instance names a handler (automl, mlflow, ...) and parameters that every model made with
`USING engine = <instance>` gets under its own USING options (a model's own keys win). The
parameters are stored encrypted and shown with secrets masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from augurdb.catalog.records import MLEngineRecord
from augurdb.catalog.secrets import MASK, is_secret
from augurdb.errors import AlreadyExists, UnknownTable, WrongArguments
from augurdb.executor.dispatch import run_statement
from augurdb.integrations.ml.registry import engine_names, resolve_name
from augurdb.result import Result
from augurdb.sql import ast

if TYPE_CHECKING:
    from augurdb.session import Session

# MindsDB's older spelling picks the engine by the model's serving format: USING format = 'mlflow'.
_FORMAT_ENGINES = {"mlflow": "mlflow", "ray_server": "ray_serve", "ray_serve": "ray_serve"}


@run_statement.register(ast.CreateMLEngine)
def _create_ml_engine(statement: ast.CreateMLEngine, session: Session) -> Result:
    name, catalog = statement.this, session.instance.catalog
    taken = {r.name.lower() for r in catalog.ml_engines()} | set(engine_names())
    if name.lower() in taken and not statement.args.get("replace"):
        if statement.args.get("exists"):
            return Result.ok()
        raise AlreadyExists(f"ML engine '{name}' already exists")
    if name.lower() in engine_names():
        raise WrongArguments(f"'{name}' is a built-in engine; give the instance another name")
    if resolve_name(statement.args["handler"]) == "byom":
        raise WrongArguments("A byom engine is made by uploading its code: PUT /api/handlers/byom/<name> "
                             "or `augurdb byom upload <name> code.py` (docs/byom-code.md)")
    catalog.add_ml_engine(MLEngineRecord(name, resolve_name(statement.args["handler"]),
                                         dict(statement.args.get("using") or {})),
                          replace=bool(statement.args.get("replace")))
    return Result.ok(1)


@run_statement.register(ast.DropMLEngine)
def _drop_ml_engine(statement: ast.DropMLEngine, session: Session) -> Result:
    catalog = session.instance.catalog
    record = next((r for r in catalog.ml_engines() if r.name.lower() == statement.this.lower()), None)
    if record is None:
        if statement.args.get("exists"):
            return Result.ok()
        raise UnknownTable(f"ML engine '{statement.this}' doesn't exist")
    catalog.drop_ml_engine(record.name)
    if record.handler == "byom":
        from augurdb.integrations.ml.byom_store import remove_engine

        remove_engine(session.instance.artifacts.root, record.name)
    return Result.ok(1)


def resolve_engine(session: Session, using: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The handler a model's USING names (an instance, a built-in engine, or MindsDB's format=...),
    and the USING options with the instance's parameters under them."""
    name = using.get("engine") or _FORMAT_ENGINES.get(str(using.get("format", "")).lower())
    if name:
        for record in session.instance.catalog.ml_engines():
            if record.name.lower() == str(name).lower():
                return record.handler, {**record.parameters, **{k: v for k, v in using.items() if k != "engine"}}
    return resolve_name(name), using


def shown_parameters(session: Session, record: MLEngineRecord) -> dict[str, Any]:
    """An instance's parameters as users may see them: secrets masked, a byom engine's versions
    with the status of their environments."""
    if record.handler == "byom":
        from augurdb.integrations.ml.byom_store import with_status

        return masked_options(with_status(session.instance.artifacts.root, record.parameters))
    return masked_options(record.parameters)


def masked_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options as users may see them: secret values as ******."""
    return {k: (MASK if is_secret(k) and v not in (None, "") else v) for k, v in options.items()}
