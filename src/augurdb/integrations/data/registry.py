"""Data engines by name, found through Python entry points.

Built-in engines are declared in augurdb's own pyproject.toml under the
``augurdb.data_engines`` group, exactly as a third-party package declares its own, so
a new source is a new module and never an edit here. An engine module is imported only
when a database of that engine is first used (drivers are optional extras).
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points

from augurdb.errors import WrongArguments
from augurdb.integrations.data.base import DataEngine

GROUP = "augurdb.data_engines"
# MindsDB's other spellings of the same engines.
_ALIASES = {"postgresql": "postgres", "pg": "postgres", "mariadb": "mysql", "sqlite3": "sqlite"}

_lock = threading.Lock()
_loaded: dict[str, DataEngine] = {}


def engine_names() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)} | set(_ALIASES))


def resolve_engine_name(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in {ep.name for ep in entry_points(group=GROUP)}:
        raise WrongArguments(f"Unknown database engine '{name}': available engines are "
                             f"{', '.join(engine_names())}")
    return key


def get_data_engine(name: str) -> DataEngine:
    """The engine for `ENGINE = '<name>'`; error 1210 naming the known engines otherwise."""
    key = resolve_engine_name(name)
    with _lock:
        if key not in _loaded:
            (point,) = [ep for ep in entry_points(group=GROUP) if ep.name == key]
            _loaded[key] = point.load()()
        return _loaded[key]
