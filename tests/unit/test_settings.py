"""Settings from flags and AUGURDB_* variables (config.py)."""

from __future__ import annotations

import pytest

from augurdb.config import Settings


def test_a_training_niceness_out_of_range_is_refused_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("AUGURDB_TRAINING_NICE", "30")
    with pytest.raises(ValueError, match="0-19, not 30"):
        Settings.from_env()
    monkeypatch.setenv("AUGURDB_TRAINING_NICE", "0")
    assert Settings.from_env().training_nice == 0
    assert Settings().training_nice == 10
