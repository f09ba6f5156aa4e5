"""Mixers (models over encoded features), built by name through the registry (registry.py):
the built-in ones, those installed packages register, and ``module:Class`` names.

Neural mixers import torch lazily, so a predictor without them loads without torch.
"""

from __future__ import annotations

from . import registry
from .base import BaggedMixer, Mixer, TrainingData, amounts_only, take_features

__all__ = ["registry", "Mixer", "BaggedMixer", "TrainingData", "amounts_only", "take_features"]
