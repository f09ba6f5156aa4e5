"""Which mixers exist: the built-in ones, the ones installed packages register, and any class a
user names as ``module:Class`` (Lightwood's ``model.args`` submodels, for a quick try).

A package registers a mixer through the entry point group ``augurdb.mixers``::

    [project.entry-points."augurdb.mixers"]
    TabularTransformer = "my_package.mixers:TabularTransformer"

Registered mixers are tried by default, like the built-in ones. A mixer is a subclass of
:class:`~augurdb.automl.mixers.base.Mixer`; its ``budget_share`` (default 0.15) weighs its share of
the training budget against the others'. The model file keeps the class by its import path, so
the package must be importable wherever the model is loaded (the server and the workers).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from ..errors import AutoMLError
from .base import Mixer
from .gbm import LightGBMMixer
from .linear import LinearMixer

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "augurdb.mixers"
DEFAULT_SHARE = 0.15


def _neural(name: str) -> Callable[[], Mixer]:
    def build() -> Mixer:
        from . import neural  # torch is imported only when a neural mixer is used

        return getattr(neural, name)()

    return build


BUILT_IN: dict[str, Callable[[], Mixer]] = {
    "Linear": LinearMixer,
    "LightGBM": LightGBMMixer,
    "FullyConnectedNet": _neural("FullyConnectedNet"),
    "EnsembleFullyConnectedNet": _neural("EnsembleFullyConnectedNet"),
    "EnsembleConvNet": _neural("EnsembleConvNet"),
}

# Share of the training budget each built-in mixer may use (leftovers roll over to the next ones).
# LightGBM's is large because its parameter search is where large tables gain most, and on small
# ones it early-stops and leaves the rest to the nets (nyc_flights, 78k rows, 60 s: at 0.35 only
# its default set fit, held-out R² 0.987; at 0.55 linear leaves too, 0.993; the other eight
# datasets of bench/automl.py scored the same).
_BUILT_IN_SHARES = {
    "Linear": 0.10,
    "LightGBM": 0.55,
    "FullyConnectedNet": 0.15,
    "EnsembleFullyConnectedNet": 0.25,
    "EnsembleConvNet": 0.15,
}


@functools.cache
def _registered() -> dict[str, EntryPoint]:
    found = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in BUILT_IN:
            log.warning("mixer entry point %s (%s) is ignored: a built-in mixer has that name", point.name, point.value)
        else:
            found[point.name] = point
    return found


def names() -> tuple[str, ...]:
    """Mixers tried when the user names none: the built-in ones, then the registered ones."""
    return (*BUILT_IN, *sorted(_registered()))


def _load(name: str) -> type:
    if name in _registered():
        try:
            return _registered()[name].load()
        except Exception as error:  # a broken plugin is the user's to fix: say which and why
            raise AutoMLError(f"mixer {name!r} ({_registered()[name].value}) cannot be loaded: {error}") from None
    module, _, attribute = name.partition(":")
    if not module or not attribute:
        raise AutoMLError(f"unknown mixer {name!r}; valid mixers: {list(names())}, or a Mixer class as 'module:Class'")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        raise AutoMLError(f"mixer {name!r} cannot be imported: {error}") from None


@functools.cache
def factory(name: str) -> Callable[..., Mixer]:
    """What builds mixer ``name`` (raises AutoMLError naming the valid ones)."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    found = _load(name)
    if not (inspect.isclass(found) and issubclass(found, Mixer)):
        raise AutoMLError(f"mixer {name!r} is not a subclass of augurdb.automl.mixers.Mixer")
    return found


def build(name: str, args: dict | None = None) -> Mixer:
    """A fresh mixer ``name``; ``args`` go to a registered or named class's constructor."""
    return factory(name)(**(args or {}))


def check_args(name: str, args: dict) -> None:
    """Raise AutoMLError unless ``name``'s constructor takes ``args``."""
    if name in BUILT_IN:
        raise AutoMLError(f"mixer {name!r} takes no args; only registered or module:Class mixers do")
    try:
        inspect.signature(factory(name)).bind(**args)
    except TypeError as error:
        raise AutoMLError(f"mixer {name!r} does not take args {sorted(args)}: {error}") from None


def budget_share(name: str) -> float:
    """Weight of ``name``'s share of the training budget."""
    if name in _BUILT_IN_SHARES:
        return _BUILT_IN_SHARES[name]
    share = getattr(factory(name), "budget_share", DEFAULT_SHARE)
    return float(share) if isinstance(share, int | float) and share > 0 else DEFAULT_SHARE
