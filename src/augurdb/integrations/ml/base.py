"""The contract every ML engine implements: the built-in AutoML, and later MLflow, Ray Serve, HTTP, BYOM."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from augurdb.errors import WrongArguments

ProgressFn = Callable[[int, int, str], None]

# USING keys the server reads itself for every engine (which engine, a tag, waiting for training,
# keeping the current version active); engines get the rest.
SERVER_OPTIONS = frozenset({"engine", "tag", "join_learn_process", "active"})


def refuse_unknown_options(engine: str, options: Iterable[str], valid: Iterable[str], context: str = "",
                           also: str = "") -> None:
    """WrongArguments naming the unknown USING keys and every key CREATE MODEL takes for this
    engine: its own and the server's (``context``: e.g. " with model_uri"; ``also``: a note)."""
    unknown = sorted(set(options) - set(valid) - SERVER_OPTIONS)
    if unknown:
        keys = ", ".join(sorted(set(valid) | SERVER_OPTIONS))
        raise WrongArguments(f"[{engine}] unknown USING option(s) {', '.join(unknown)}{context}; valid options: "
                             f"{keys}{f' ({also})' if also else ''}")


@dataclass(frozen=True)
class EngineCapabilities:
    """What the server may rely on; declared, never probed."""

    # CREATE MODEL needs FROM db (query): the engine learns from rows. Engines that link a model
    # trained elsewhere (an endpoint) do not; they implement LinkingEngine.link instead of train.
    needs_training_data: bool = True
    # An engine that can do both (Ray Serve: train through its endpoint, or link a served model)
    # links when CREATE has no FROM, and trains when it has one.
    links: bool = False
    # Training runs in a worker process (heavy, CPU-bound); remote engines may train elsewhere.
    trains_in_worker: bool = True
    # Where predict() does its work: "server" (in this process), "worker" or "remote" (an endpoint).
    predicts: str = "server"


@dataclass(frozen=True)
class ModelSchema:
    """A model's input and output columns with their types (dtype_dict's type names), declared by
    its engine at CREATE and stored in the catalog: the planner reads outputs from here."""

    inputs: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, list[list[str]]]:
        return {"inputs": [list(c) for c in self.inputs], "outputs": [list(c) for c in self.outputs]}


@dataclass
class TrainingResult:
    """What the catalog keeps about a trained model version."""

    accuracy: float | None = None
    input_columns: list[str] = field(default_factory=list)
    dtype_dict: dict[str, str] = field(default_factory=dict)
    # Engines other than AutoML declare their columns; None keeps AutoML's (target, confidence, ...).
    schema: ModelSchema | None = None


@dataclass(frozen=True)
class PredictRequest:
    """One predict call: the rows (the model's input columns only), the output columns the query
    reads (lower case; None: all of them, so costly extras such as explanations can be skipped),
    and the predict-time USING options."""

    rows: pa.Table
    reads: frozenset[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def slice(self, start: int, length: int) -> PredictRequest:
        return PredictRequest(self.rows.slice(start, length), self.reads, self.options)


class LoadedModel(Protocol):
    """A model in memory, ready to predict."""

    input_columns: list[str]

    def predict(self, request: PredictRequest) -> pa.Table:
        """One output row per input row, same order: the model's declared outputs (for AutoML the
        target, <target>_confidence, ...)."""
        ...

    def describe(self, attribute: str | None) -> pa.Table:
        """What DESCRIBE model[.attribute] shows."""
        ...

    def close(self) -> None:
        """Release what the loaded model holds (a worker process, connections); called on eviction."""
        ...


class MLEngine(Protocol):
    """Trains and loads models of one kind."""

    name: str
    capabilities: EngineCapabilities

    def validate(self, target: str, options: dict[str, Any]) -> None:
        """Check the USING options at CREATE time; raise WrongArguments on nonsense."""
        ...

    def validate_data(self, data: pa.Table, target: str, options: dict[str, Any]) -> None:
        """Check the options against the training rows at CREATE time, before a worker starts
        (columns the options name, settings that do not fit the target); raise WrongArguments."""
        ...

    def train(self, data: pa.Table, target: str, options: dict[str, Any], artifact_dir: Path,
              progress: ProgressFn) -> TrainingResult:
        """Learn from `data`, write the artifact into artifact_dir."""
        ...

    def load(self, artifact_dir: Path, options: dict[str, Any]) -> LoadedModel:
        """Load an artifact written by train() or link(); `options` are the model's USING options
        with secrets decrypted (credentials are kept in the catalog, never in the artifact)."""
        ...


class LinkingEngine(MLEngine, Protocol):
    """An engine whose models are trained elsewhere: CREATE checks the endpoint and declares the schema."""

    def link(self, target: str, options: dict[str, Any], artifact_dir: Path) -> ModelSchema:
        """Check that the model answers, write what load() needs into artifact_dir, and declare
        the model's columns; raise WrongArguments or ModelEndpointError naming the cause."""
        ...
