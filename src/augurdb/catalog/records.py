"""Plain records the catalog reads and writes."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IntegrationRecord:
    """A linked data source: `CREATE DATABASE name WITH ENGINE=..., PARAMETERS=...`."""

    name: str
    engine: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class MLEngineRecord:
    """A configured ML engine: `CREATE ML_ENGINE name FROM handler USING ...`; models that name it
    in `USING engine = name` get its parameters under their own."""

    name: str
    handler: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class FileRecord:
    """An uploaded file, stored as Parquet under the data directory."""

    name: str
    path: Path
    source_format: str
    row_count: int
    columns: list[dict[str, str]]


@dataclass
class ModelRecord:
    """One version of a model."""

    project: str
    name: str
    version: int
    engine: str
    predict: str
    status: str = "generating"
    active: bool = False
    source: str | None = None
    select_data_query: str | None = None
    training_options: dict[str, Any] = field(default_factory=dict)
    tag: str | None = None
    error: str | None = None
    accuracy: float | None = None
    input_columns: list[str] | None = None
    dtype_dict: dict[str, str] | None = None
    # {"inputs": [[name, type], ...], "outputs": [[name, type], ...]}, declared by the engine at CREATE
    # (linked models); None for engines whose outputs follow from the target (automl).
    model_schema: dict[str, list[list[str]]] | None = None
    created_at: float = 0.0
    training_started_at: float | None = None
    training_stopped_at: float | None = None
    current_phase: int | None = None
    total_phases: int | None = None
    phase_name: str | None = None
    worker_pid: int | None = None
    trained_by: str | None = None  # the server (host:pid) whose worker ran the last training
    id: int | None = None

    _JSON_FIELDS = ("training_options", "input_columns", "dtype_dict", "model_schema")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelRecord:
        values = dict(row)
        for key in cls._JSON_FIELDS:
            if values.get(key) is not None:
                values[key] = json.loads(values[key])
        values["active"] = bool(values["active"])
        if values.get("training_options") is None:
            values["training_options"] = {}
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        for key in self._JSON_FIELDS:
            if row[key] is not None:
                row[key] = json.dumps(row[key])
        row["active"] = int(self.active)
        return row

    @property
    def qualified_name(self) -> str:
        return f"{self.project}.{self.name}"

    @property
    def training_time(self) -> float | None:
        if self.training_started_at is None:
            return None
        end = self.training_stopped_at or time.time()
        return round(end - self.training_started_at, 3)
