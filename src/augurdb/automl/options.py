"""The USING options learn() and predict() accept, validated up front with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import AutoMLError
from .mixers import registry
from .predict_cost import DEFAULT_INFER_LIMIT
from .tasks import EXTRA_METRICS

MIN_BUDGET = 2.0
MAX_DEFAULT_BUDGET = 600.0


@dataclass(frozen=True)
class LearnOptions:
    """Options for training (all optional).

    mixers: names of the mixers to try (default: the built-in and registered ones; also
    'module:Class'); mixer_args: mixer name -> its constructor's arguments (registered and
    module:Class mixers only); encoders: column -> encoder name;
    ignore_columns: columns to leave out; confidence_level: nominal coverage of the intervals
    (default 0.9); tune_threshold: decide classes for balanced accuracy (class-share rule, tuned
    on held-out rows where that is better beyond noise; default true; false: argmax); ensemble: allow a weighted ensemble rather than the single best mixer (default true);
    threads: CPU threads for training (default: the cores this process may use);
    infer_limit: the kept mixers' predict time per row, in seconds (default
    predict_cost.DEFAULT_INFER_LIMIT);
    accuracy_functions: further held-out metrics to report (names in tasks.EXTRA_METRICS).
    """

    mixers: tuple[str, ...] = field(default_factory=registry.names)
    mixer_args: dict[str, dict] = field(default_factory=dict)
    encoders: dict[str, str] = field(default_factory=dict)
    ignore_columns: tuple[str, ...] = ()
    confidence_level: float = 0.9
    tune_threshold: bool = True
    ensemble: bool = True
    threads: int = 0
    accuracy_functions: tuple[str, ...] = ()
    infer_limit: float = DEFAULT_INFER_LIMIT


LEARN_OPTIONS = frozenset(LearnOptions.__dataclass_fields__)


@dataclass(frozen=True)
class PredictOptions:
    """Options for prediction: confidence_level (interval coverage, default: the model's) and
    explain (true: per-row explanations; false: no explain column values (NULL); default: only for batches up to
    5,000 rows) and confidence (false: no confidence or interval values (NULL), which saves the
    conformal step on large batches that do not read them)."""

    confidence_level: float | None = None
    explain: bool | None = None
    confidence: bool = True


def _check_unknown(options: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise AutoMLError(f"unknown {what} option(s) {unknown}; valid options: {sorted(allowed)}")


def _level(value) -> float:
    try:
        level = float(value)
    except (TypeError, ValueError):
        raise AutoMLError(f"confidence_level must be a number between 0 and 1, got {value!r}") from None
    if not 0.0 < level < 1.0:
        raise AutoMLError(f"confidence_level must be between 0 and 1 (exclusive), got {value!r}")
    return level


def _infer_limit(value) -> float:
    try:
        limit = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        limit = float("nan")
    if not 0.0 < limit < float("inf"):
        raise AutoMLError(f"infer_limit must be a positive number of seconds per row (such as 0.00001), got {value!r}")
    return limit


def _flag(name: str, value) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, (bool, int)):
        return bool(value)
    raise AutoMLError(f"option {name} must be true or false, got {value!r}")


def _names(name: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    raise AutoMLError(f"option {name} must be a list of names, got {value!r}")


def _mixer_args(value, mixers: tuple[str, ...]) -> dict[str, dict]:
    if not isinstance(value, dict) or not all(isinstance(a, dict) for a in value.values()):
        raise AutoMLError(f"mixer_args must map mixer names to objects of arguments, got {value!r}")
    for name, args in value.items():
        if name not in mixers:
            raise AutoMLError(f"mixer_args names {name!r}, which is not among the mixers to try {list(mixers)}")
        registry.check_args(name, args)
    return {str(name): dict(args) for name, args in value.items()}


def parse_learn_options(options: dict | None) -> LearnOptions:
    """Validate learn() options; unknown keys or bad values raise AutoMLError naming them."""
    options = dict(options or {})
    _check_unknown(options, set(LEARN_OPTIONS), "learn")
    values: dict = {}
    if "mixers" in options:
        mixers = _names("mixers", options["mixers"])
        if not mixers:
            raise AutoMLError(f"mixers names no mixer; valid mixers: {list(registry.names())}")
        for name in mixers:
            registry.factory(name)  # raises, naming the valid ones
        values["mixers"] = mixers
    if "mixer_args" in options:
        values["mixer_args"] = _mixer_args(options["mixer_args"], values.get("mixers", registry.names()))
    if "encoders" in options:
        if not isinstance(options["encoders"], dict):
            raise AutoMLError("option encoders must map column names to encoder names")
        values["encoders"] = {str(k): str(v) for k, v in options["encoders"].items()}
    if "ignore_columns" in options:
        values["ignore_columns"] = _names("ignore_columns", options["ignore_columns"])
    if "confidence_level" in options:
        values["confidence_level"] = _level(options["confidence_level"])
    for name in ("tune_threshold", "ensemble"):
        if name in options:
            values[name] = _flag(name, options[name])
    if "accuracy_functions" in options:
        metrics = _names("accuracy_functions", options["accuracy_functions"])
        unknown = sorted(set(metrics) - set(EXTRA_METRICS))
        if unknown:
            raise AutoMLError(f"unknown accuracy function(s) {unknown}; valid: {sorted(EXTRA_METRICS)}")
        values["accuracy_functions"] = metrics
    if "infer_limit" in options:
        values["infer_limit"] = _infer_limit(options["infer_limit"])
    if "threads" in options:
        threads = options["threads"]
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise AutoMLError(f"option threads must be a positive integer, got {threads!r}")
        values["threads"] = threads
    return LearnOptions(**values)


def parse_predict_options(options: dict | None) -> PredictOptions:
    """Validate predict() options; unknown keys raise AutoMLError naming them."""
    options = dict(options or {})
    _check_unknown(options, set(PredictOptions.__dataclass_fields__), "predict")
    values: dict = {}
    if options.get("confidence_level") is not None:
        values["confidence_level"] = _level(options["confidence_level"])
    if "explain" in options:
        values["explain"] = _flag("explain", options["explain"])
    if "confidence" in options:
        values["confidence"] = _flag("confidence", options["confidence"])
    return PredictOptions(**values)


def resolve_budget(time_budget: float | None, n_rows: int, n_columns: int) -> float:
    """Seconds to train: the user's budget, or one that grows with the table (10 s to 10 min)."""
    if time_budget is None:
        return float(min(MAX_DEFAULT_BUDGET, max(10.0, 10.0 + n_rows * n_columns / 20_000)))
    try:
        budget = float(time_budget)
    except (TypeError, ValueError):
        raise AutoMLError(f"time_budget must be a number of seconds, got {time_budget!r}") from None
    if budget < MIN_BUDGET:
        raise AutoMLError(f"time_budget must be at least {MIN_BUDGET:g} seconds, got {time_budget!r}")
    return budget
