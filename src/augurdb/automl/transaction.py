"""Runs a list of phases over a bus, reporting progress."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Bus = TypeVar("Bus")
Phase = tuple[str, Callable[[Bus], None]]


def run_phases(phases: Sequence[Phase], bus: Bus, progress: Callable[[int, int, str], None] | None) -> Bus:
    """Run each (name, phase) in order on ``bus``; ``progress(i, total, name)`` before each one."""
    for index, (name, phase) in enumerate(phases, start=1):
        if progress is not None:
            progress(index, len(phases), name)
        phase(bus)
    return bus
