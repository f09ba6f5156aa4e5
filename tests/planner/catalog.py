"""A catalog snapshot made from data alone, for planner tests: the planner does no I/O, so a
plan can be built and checked without any server (the sources here only answer schemas)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from augurdb.catalog.records import FileRecord, IntegrationRecord, ModelRecord
from augurdb.integrations.data.base import DataCapabilities, TableInfo, TableName
from augurdb.planner.snapshot import Snapshot

_TABLES = {
    "rentals": ["sqft", "location", "neighborhood", "days_on_market", "rental_price", "number_of_rooms"],
    "titanic": ["passengerid", "survived", "pclass", "name", "sex", "age", "fare"],
    "flights": ["origin", "dest", "carrier", "dep_delay", "arr_delay", "distance"],
    "airports": ["code", "city", "country"],
}


class SchemaOnlySource:
    """A linked database as the planner sees it: a dialect, capabilities and table schemas."""

    def __init__(self, name: str, engine: str, dialect: str, schemas: bool):
        self.name, self.engine, self.dialect = name, engine, dialect
        self.capabilities = DataCapabilities(pushdown=True, native_query=True, writable=True, schemas=schemas)
        self.default_schema = {"postgres": "public", "duckdb": "main"}.get(dialect) if schemas else None

    def schema(self, table: TableName) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in _TABLES[table.name.lower()]])

    def tables(self, schema: str | None = None) -> list[TableInfo]:
        return [TableInfo(name, self.default_schema) for name in _TABLES]


def model(project: str, name: str, target: str, inputs: list[str], numeric: bool) -> ModelRecord:
    dtype = {target: "float" if numeric else "binary"}
    return ModelRecord(project=project, name=name, version=1, engine="automl", predict=target, status="complete",
                       active=True, input_columns=inputs, dtype_dict=dtype, id=hash(name) % 1000)


def snapshot() -> Snapshot:
    sources = {
        "pg": SchemaOnlySource("pg", "postgres", "postgres", schemas=True),
        "my": SchemaOnlySource("my", "mysql", "mysql", schemas=False),
        "lite": SchemaOnlySource("lite", "sqlite", "sqlite", schemas=False),
        "duck": SchemaOnlySource("duck", "duckdb", "duckdb", schemas=True),
    }
    models = [
        model("mindsdb", "price", "rental_price", ["sqft", "location", "neighborhood", "days_on_market"], True),
        model("mindsdb", "survival", "survived", ["pclass", "sex", "age", "fare"], False),
    ]
    files = {"uploads": FileRecord("uploads", Path("/data/files/uploads.parquet"), "csv", 10,
                                   [{"name": "code", "type": "string"}, {"name": "note", "type": "string"}])}
    return Snapshot(
        current_database="mindsdb",
        projects=("mindsdb",),
        files=files,
        models={(m.project, m.name): (m,) for m in models},
        integrations={k: IntegrationRecord(k, s.engine, {}) for k, s in sources.items()},
        sources=sources,  # type: ignore[arg-type]
    )
