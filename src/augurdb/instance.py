"""One augurdb instance over one data directory: catalog, files, local engine, models, training."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from augurdb.catalog.records import ModelRecord
from augurdb.catalog.store import Catalog
from augurdb.config import Settings
from augurdb.errors import ModelNotReady
from augurdb.executor.plan_cache import PlanCache
from augurdb.executor.processes import ProcessList
from augurdb.integrations.data.files import FilesIntegration
from augurdb.integrations.data.sources import Sources
from augurdb.integrations.ml.base import LoadedModel
from augurdb.integrations.ml.registry import get_engine
from augurdb.jobs.artifacts import ArtifactStore
from augurdb.jobs.ownership import LockFileOwnership, Ownership, SharedOwnership
from augurdb.jobs.runners import JobRunner, LocalRunner
from augurdb.jobs.training import TrainingJobs
from augurdb.server.login_throttle import LoginThrottle

if TYPE_CHECKING:
    from augurdb.server.siblings import Siblings
    from augurdb.session import Session

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "mindsdb"


class ModelCache:
    """Loaded models by id, least recently used out first: single-row predictions never touch disk."""

    def __init__(self, artifacts: ArtifactStore, capacity: int = 32):
        self.artifacts = artifacts
        self.capacity = capacity
        self._models: OrderedDict[int, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, record: ModelRecord) -> LoadedModel:
        if record.status != "complete":
            raise _not_ready(record)
        model_id = record.id or 0
        with self._lock:
            if model_id in self._models:
                self._models.move_to_end(model_id)
                return self._models[model_id]
        loaded = get_engine(record.engine).load(self.artifacts.model_dir(model_id),
                                                 record.training_options.get("using", {}))
        with self._lock:
            self._models[model_id] = loaded
            evicted = []
            while len(self._models) > self.capacity:
                evicted.append(self._models.popitem(last=False)[1])
        for model in evicted:
            model.close()
        return loaded

    def evict(self, model_id: int) -> None:
        with self._lock:
            model = self._models.pop(model_id, None)
        if model is not None:
            model.close()

    def close(self) -> None:
        with self._lock:
            models, self._models = list(self._models.values()), OrderedDict()
        for model in models:
            model.close()


def _not_ready(record: ModelRecord) -> ModelNotReady:
    name = f"{record.qualified_name}.{record.version}"
    if record.status == "error":
        return ModelNotReady(f"The model '{name}' cannot be used: its training failed: {record.error}")
    return ModelNotReady(f"The model '{name}' is not ready yet: its status is '{record.status}'")


class Instance:
    """Everything shared by the sessions of one server (or one embedded connection)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.started_at = time.time()
        self.data_dir = Path(settings.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(settings.catalog or self.data_dir / "catalog.sqlite", settings.secret_key,
                               secret_dir=self.data_dir)
        if DEFAULT_PROJECT not in self.catalog.projects():
            self.catalog.add_project(DEFAULT_PROJECT)
        self.artifacts = ArtifactStore(Path(settings.artifact_dir or self.data_dir).resolve())
        self.files = FilesIntegration(self.catalog, self.artifacts.root / "files")
        self.duckdb = _local_engine(self.artifacts.root / "files")
        self.models = ModelCache(self.artifacts)
        self.plan_cache = PlanCache()
        self.processes = ProcessList()
        self.siblings: Siblings | None = None  # with --processes N: the others' connections (server/siblings.py)
        self.login_throttle = LoginThrottle()  # one per server: MySQL and HTTP logins count together
        self.sources = Sources()
        self.jobs = TrainingJobs(self.catalog, self.artifacts, _runner(settings), self._ownership(),
                                 workers=settings.training_workers, lease_seconds=settings.job_lease_seconds,
                                 secret_dir=self.data_dir, secret_key=settings.secret_key)

    def _ownership(self) -> Ownership:
        if self.catalog.location.startswith(("postgresql://", "postgres://")):
            return SharedOwnership()
        return LockFileOwnership(Path(self.catalog.location).with_suffix(".jobs.lock"))

    def session(self, user: str = "augur", database: str = DEFAULT_PROJECT) -> Session:
        from augurdb.session import Session

        return Session(self, user=user, database=database)

    def close(self) -> None:
        self.jobs.close()
        self.models.close()
        self.sources.close()
        self.duckdb.close()
        self.catalog.close()


def _runner(settings: Settings) -> JobRunner:
    if settings.ray_address:
        from augurdb.jobs.ray_runner import RayRunner

        return RayRunner(settings.ray_address)
    return LocalRunner(nice=settings.training_nice)


# MySQL functions DuckDB lacks and sqlglot does not translate.
MYSQL_MACROS = [
    "CREATE MACRO unix_timestamp(x) AS CAST(epoch(CAST(x AS TIMESTAMP)) AS BIGINT)",
    "CREATE MACRO from_unixtime(x) AS to_timestamp(x)::TIMESTAMP",
]


def _local_engine(files_dir: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB for local relational work, allowed to read only the instance's own files.

    User SQL runs here; without the lock a query could read any file on the server.
    """
    con = duckdb.connect()
    allowed = str(files_dir).replace("'", "''")
    con.execute(f"SET allowed_directories = ['{allowed}']")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    # MySQL ignores ORDER BY a constant ('x', NULL: `GROUP BY a ORDER BY NULL` is its idiom for
    # "no sort"); DuckDB refuses it unless told.
    con.execute("SET GLOBAL order_by_non_integer_literal = true")  # GLOBAL: cursors are new connections
    con.execute("SET lock_configuration = true")
    for macro in MYSQL_MACROS:
        con.execute(macro)
    return con
