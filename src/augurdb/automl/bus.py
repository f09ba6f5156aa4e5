"""The typed buses phases communicate through: each phase reads and writes only these fields."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .calibration import ProbabilityCalibration
from .conformal import RegressionConformal
from .encoders.base import ColumnEncoder, Matrix
from .features import FeatureLayout
from .model import CandidateReport, TrainedModel
from .options import LearnOptions, PredictOptions
from .progress import TrainingProgress
from .selection import DecisionRule
from .splits import Split
from .statistics import ColumnStats
from .tasks import Task


@dataclass
class LearnBus:
    """State of one learn transaction, filled phase by phase."""

    raw: pd.DataFrame
    target: str
    options: LearnOptions
    dtype_dict: dict[str, str]
    seed: int
    budget: float
    started: float = field(default_factory=time.monotonic)
    progress: TrainingProgress = field(default_factory=lambda: TrainingProgress(None, 0.0, 0.0))
    # DataExtractor
    data: pd.DataFrame | None = None
    target_null_rows: int = 0
    # StatsGenerator
    stats: dict[str, ColumnStats] = field(default_factory=dict)
    input_columns: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    task: Task | None = None
    # DataVectorizer
    values: dict[str, object] = field(default_factory=dict)
    y: np.ndarray | None = None
    classes: list | None = None
    integer_target: bool = False
    # DataEncoder
    split: Split | None = None
    encoders: dict[str, ColumnEncoder] = field(default_factory=dict)
    layout: FeatureLayout | None = None
    x: Matrix | None = None
    # Cross-validation only: supervised encoders' inputs and every column's block, from which
    # each fold's matrix is rebuilt (learn_phases.fold_matrix), cached by the fold's rows.
    fold_inputs: dict[str, object] = field(default_factory=dict)
    blocks: list[Matrix] = field(default_factory=list)
    fold_matrices: dict[bytes, Matrix] = field(default_factory=dict)
    encoding_seconds: float = 0.0  # what fitting the encoders took: bounds a fold's re-encoding
    # ModelTrainer
    candidates: list[CandidateReport] = field(default_factory=list)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # held-out outputs per mixer
    trained: dict = field(default_factory=dict)  # mixer name -> Mixer
    weights: dict[str, float] = field(default_factory=dict)
    predict_costs: dict[str, float] = field(default_factory=dict)  # mixer name -> predict seconds per row
    cv_rounds: int = 1  # shuffles of the k-fold actually run (repeated cross-validation)
    refitted: dict = field(default_factory=dict)  # kept mixer name -> refit on every row (hold-out tables)
    refit_gains: dict[str, float] = field(default_factory=dict)  # numbers: refit error / hold-out error
    decision: DecisionRule | None = None
    # Analysis
    conformal: RegressionConformal | None = None  # numbers: intervals
    calibration: ProbabilityCalibration | None = None  # classes: probabilities
    calibration_report: dict = field(default_factory=dict)  # what the calibration achieved, measured
    accuracy: float = float("nan")
    accuracies: dict[str, float] = field(default_factory=dict)  # primary metric + accuracy_functions
    importances: dict[str, float] = field(default_factory=dict)
    model: TrainedModel | None = None

    @property
    def deadline(self) -> float:
        """time.monotonic() by which learn() must be done."""
        return self.started + self.budget

    def seconds_left(self) -> float:
        """Budget still available."""
        return self.deadline - time.monotonic()


@dataclass
class PredictBus:
    """State of one predict transaction."""

    # Input columns by name: pandas Series, or plain lists for small batches (one-row predictions
    # skip pandas altogether), all of `rows` rows.
    raw: Mapping[str, pd.Series | list]
    rows: int
    options: PredictOptions
    model: TrainedModel
    stats: dict[str, ColumnStats] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    x: Matrix | None = None
    output: np.ndarray | None = None  # blended values or class probabilities
    decided: np.ndarray | None = None  # values or class codes
    variance_removed: np.ndarray | None = None  # numbers: what bagging took off the calibrated error
    contributions: np.ndarray | None = None
    result: dict[str, np.ndarray | list] | None = None  # output columns in order
