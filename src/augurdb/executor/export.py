"""EXPORT MODEL: a trained model written as an MLflow pyfunc model (integrations/ml/mlflow_export.py).

    EXPORT MODEL mindsdb.home_rentals TO 'home_rentals_v1';

The server writes on its own disk, so, like MySQL's SELECT ... INTO OUTFILE under
secure_file_priv, only inside its export directory (the export_dir setting, default
<data_dir>/exports); a relative path is taken from there. Over HTTP the same model downloads as a
zip (GET /api/projects/<project>/models/<model>/export), and `augurdb export` writes one locally.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from augurdb.catalog.records import ModelRecord
from augurdb.errors import OutsideExportDir
from augurdb.executor.dispatch import run_statement
from augurdb.instance import DEFAULT_PROJECT
from augurdb.result import Result
from augurdb.sql import ast

if TYPE_CHECKING:
    from augurdb.session import Session


@run_statement.register(ast.ExportModel)
def _export_model(statement: ast.ExportModel, session: Session) -> Result:
    table: exp.Table = statement.this
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    version = parts.pop() if len(parts) > 1 and parts[-1].isdigit() else ""
    project = parts[0] if len(parts) == 2 else (session.database or DEFAULT_PROJECT)
    record = session.model_version(project, parts[-1], version) if version else session.active_model(project, parts[-1])
    target = export_model(session, record, export_target(session, statement.args["path"]))
    return Result.rows(pa.table({"model": [f"{record.qualified_name}.{record.version}"], "path": [str(target)],
                                 "serve": [f"mlflow models serve -m {target} --env-manager local"]}))


def export_dir(session: Session) -> Path:
    settings = session.instance.settings
    return Path(settings.export_dir or session.instance.data_dir / "exports").resolve()


def export_target(session: Session, path: str) -> Path:
    """Where EXPORT MODEL may write `path`: inside the export directory only."""
    root = export_dir(session)
    target = (root / path).resolve()  # an absolute path replaces root; `..` is resolved away
    if target != root and root not in target.parents:
        raise OutsideExportDir(f"The server writes exports only inside its export directory {root} "
                               f"(the export_dir setting, AUGURDB_EXPORT_DIR); '{path}' is outside it")
    return target


def export_model(session: Session, record: ModelRecord, target: Path) -> Path:
    from augurdb.integrations.ml.mlflow_export import export
    target.parent.mkdir(parents=True, exist_ok=True)
    return export(record, session.instance.artifacts.model_dir(record.id or 0), target)
