"""Mixers (models over encoded features), looked up by name through a registry.

Neural mixers import torch lazily, so a predictor without them loads without torch.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import BaggedMixer, Mixer, TrainingData
from .gbm import LightGBMMixer
from .linear import LinearMixer


def _neural(name: str) -> Callable[[], Mixer]:
    def build() -> Mixer:
        from . import neural

        return getattr(neural, name)()

    return build


MIXERS: dict[str, Callable[[], Mixer]] = {
    "Linear": LinearMixer,
    "LightGBM": LightGBMMixer,
    "FullyConnectedNet": _neural("FullyConnectedNet"),
    "EnsembleFullyConnectedNet": _neural("EnsembleFullyConnectedNet"),
    "EnsembleConvNet": _neural("EnsembleConvNet"),
}

# Share of the training budget each mixer may use (leftovers roll over to the next ones).
BUDGET_SHARES = {
    "Linear": 0.10,
    "LightGBM": 0.35,
    "FullyConnectedNet": 0.15,
    "EnsembleFullyConnectedNet": 0.25,
    "EnsembleConvNet": 0.15,
}

__all__ = ["MIXERS", "BUDGET_SHARES", "Mixer", "BaggedMixer", "TrainingData"]
