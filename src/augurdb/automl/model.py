"""Everything a trained model keeps: what predict() needs, plus the report describe() shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from .calibration import ProbabilityCalibration
from .conformal import ClassificationConformal, RegressionConformal
from .encoders.base import ColumnEncoder
from .features import FeatureLayout
from .mixers.base import Mixer
from .selection import DecisionRule
from .statistics import ColumnStats
from .tasks import Task


@dataclass
class CandidateReport:
    """One mixer tried during training and how it did on held-out rows."""

    name: str
    performance: float | None
    training_time: float
    selected: bool = False
    status: str = "trained"  # trained | skipped: <why> | failed: <error>
    settings: dict = field(default_factory=dict)  # what the mixer chose for itself (Mixer.settings)
    predict_seconds_per_row: float | None = None  # seconds, timed after training (predict_cost.py)


@dataclass
class TrainedModel:
    """The learnt artefact: statistics, encoders, kept mixers and their weights, calibration."""

    target: str
    task: Task
    classes: list | None  # original class labels (their codes are positions in this list)
    integer_target: bool
    stats: dict[str, ColumnStats]
    target_stats: ColumnStats
    input_columns: list[str]
    ignored: dict[str, str]  # column -> why it is not used
    encoders: dict[str, ColumnEncoder]
    layout: FeatureLayout
    mixers: dict[str, Mixer]
    weights: dict[str, float]
    decision: DecisionRule | None
    conformal: RegressionConformal | ClassificationConformal | None  # intervals for numbers
    confidence_level: float
    accuracy: float
    importances: dict[str, float]
    candidates: list[CandidateReport]
    info: dict = field(default_factory=dict)
    accuracies: dict[str, float] = field(default_factory=dict)  # metric name -> held-out value
    calibration: ProbabilityCalibration | None = None  # class probabilities (None for numbers)
