"""ML engines by name. Built-in engines register here exactly as a plugin would."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from augurdb.errors import WrongArguments
from augurdb.integrations.ml.base import MLEngine

DEFAULT_ENGINE = "automl"

# name -> "module:factory"; imported only when first used, so the server starts fast.
_ENGINES: dict[str, str] = {
    "automl": "augurdb.integrations.ml.automl_engine:AutoMLEngine",
    "mlflow": "augurdb.integrations.ml.mlflow_rest:MLflowRestEngine",
    "http": "augurdb.integrations.ml.http_engine:HttpEngine",
    "byom": "augurdb.integrations.ml.byom:ByomEngine",
    "ray_serve": "augurdb.integrations.ml.ray_serve:RayServeEngine",
}
_ALIASES = {"lightwood": "automl"}
_loaded: dict[str, MLEngine] = {}


def register_engine(name: str, factory_path: str) -> None:
    """Register an engine as `module:callable` returning an MLEngine."""
    _ENGINES[name] = factory_path


def engine_names() -> list[str]:
    return sorted(_ENGINES)


def resolve_name(name: str | None) -> str:
    key = (name or DEFAULT_ENGINE).lower()
    key = _ALIASES.get(key, key)
    if key not in _ENGINES:
        raise WrongArguments(f"Unknown ML engine '{name}': available engines are {', '.join(engine_names())}")
    return key


def get_engine(name: str | None) -> MLEngine:
    key = resolve_name(name)
    if key not in _loaded:
        module_name, _, attr = _ENGINES[key].partition(":")
        factory: Callable[[], MLEngine] = getattr(importlib.import_module(module_name), attr)
        _loaded[key] = factory()
    return _loaded[key]
