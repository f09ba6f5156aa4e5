"""Plan steps: what a query needs done before DuckDB runs the final SELECT.

Each step produces one Arrow relation registered under `output`; the final
query refers to those names. Steps are frozen: a plan is data, built by pure
functions in planner/ and run by executor/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from augurdb.catalog.records import ModelRecord


@dataclass(frozen=True)
class FetchStep:
    """Rows of the data side of a model JOIN (filters, ORDER BY and LIMIT pushed down), run by DuckDB."""

    output: str
    query: exp.Expr


@dataclass(frozen=True)
class RemoteScan:
    """One SELECT sent to a linked database, already rendered in its dialect."""

    output: str
    database: str
    sql: str


@dataclass(frozen=True)
class MaterializeStep:
    """A table the server makes up (information_schema, <project>.models)."""

    output: str
    database: str
    table: str


@dataclass(frozen=True)
class PredictStep:
    """Predictions of one model version, one row per input row.

    Inputs come from the relation `input` (a JOIN) or, with input None, from the
    constants alone (one row: SELECT ... FROM model WHERE a = 1 AND b = 'x').
    """

    output: str
    model: ModelRecord
    input: str | None
    constants: dict[str, Any] = field(default_factory=dict)
    # data column -> model input column, from JOIN ... ON t.a = m.b
    renames: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    empty: bool = False  # WHERE 1=0: clients probing the columns
    # The model's output columns the query reads (lower case); None when it may read all (a star).
    reads: frozenset[str] | None = None


Step = FetchStep | RemoteScan | MaterializeStep | PredictStep


@dataclass(frozen=True)
class Plan:
    """Steps in order, then the final query over their outputs."""

    steps: tuple[Step, ...]
    query: exp.Expr
