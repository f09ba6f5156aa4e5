"""The catalog facts one statement is planned against, read once.

Name resolution lives here and only here: databases, files, models and linked databases are
case-insensitive (MySQL's rule for databases on case-insensitive systems, MindsDB's for
models); a quoted table name of a linked source keeps its case, an unquoted one is matched
without regard to case by the source's own rules. The planner binds against a snapshot and
does no I/O of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from augurdb.catalog.records import FileRecord, IntegrationRecord, ModelRecord
from augurdb.errors import UnknownDatabase, UnknownTable
from augurdb.integrations.data.base import DataIntegration, TableName

if TYPE_CHECKING:
    from augurdb.session import Session

INFORMATION_SCHEMA = "information_schema"
FILES = "files"


@dataclass(frozen=True)
class Snapshot:
    """Projects, files, models and linked databases as they were when the statement began."""

    current_database: str
    projects: tuple[str, ...]
    files: dict[str, FileRecord]  # lower-case name -> record
    models: dict[tuple[str, str], tuple[ModelRecord, ...]]  # (project, lower-case name) -> versions
    integrations: dict[str, IntegrationRecord]  # lower-case name -> record
    sources: dict[str, DataIntegration] = field(default_factory=dict)  # lower-case name -> live
    # Column names of linked tables, asked of the source once per statement when a mixed-source
    # query needs them to place unqualified columns (the only source I/O while planning).
    _remote_columns: dict[tuple[str, TableName], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def take(cls, session: Session) -> Snapshot:
        catalog = session.instance.catalog
        models: dict[tuple[str, str], list[ModelRecord]] = {}
        for record in catalog.models():
            models.setdefault((record.project, record.name.lower()), []).append(record)
        integrations = {r.name.lower(): r for r in catalog.integrations()}
        return cls(
            current_database=session.database,
            projects=tuple(catalog.projects()),
            files={f.name.lower(): f for f in catalog.files()},
            models={k: tuple(v) for k, v in models.items()},
            integrations=integrations,
            sources={k: session.instance.sources.get(r) for k, r in integrations.items()},
        )

    # --- databases ----------------------------------------------------------------

    def database_names(self) -> list[str]:
        return [INFORMATION_SCHEMA, *self.projects, FILES, *(r.name for r in self.integrations.values())]

    def resolve_database(self, name: str) -> str:
        """The stored spelling of a database name; UnknownDatabase when there is none."""
        for candidate in self.database_names():
            if candidate.lower() == name.lower():
                return candidate
        raise UnknownDatabase(f"Unknown database '{name}'")

    def is_database(self, name: str) -> bool:
        return any(candidate.lower() == name.lower() for candidate in self.database_names())

    def source(self, database: str) -> DataIntegration | None:
        """The linked database of that name, or None for projects, files and system databases."""
        return self.sources.get(database.lower())

    def remote_columns(self, database: str, table: TableName) -> tuple[str, ...]:
        """A linked table's column names as the source spells them."""
        key = (database.lower(), table)
        if key not in self._remote_columns:
            source = self.sources[database.lower()]
            self._remote_columns[key] = tuple(f.name for f in source.schema(table))
        return self._remote_columns[key]

    # --- files and models -------------------------------------------------------------

    def file(self, name: str) -> FileRecord:
        record = self.files.get(name.lower())
        if record is None:
            raise UnknownTable(f"Table 'files.{name}' doesn't exist")
        return record

    def active_model(self, project: str, name: str) -> ModelRecord:
        versions = self.models.get((project, name.lower()))
        if not versions:
            raise UnknownTable(f"Table '{project}.{name}' doesn't exist")
        active = [r for r in versions if r.active]
        return active[0] if active else versions[-1]

    def model_version(self, project: str, name: str, version: str) -> ModelRecord:
        for record in self.models.get((project, name.lower()), ()):
            if str(record.version) == version:
                return record
        raise UnknownTable(f"Model '{project}.{name}' has no version {version}")
