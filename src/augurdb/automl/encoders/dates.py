"""Encoder for dates and datetimes: calendar parts, cyclic positions and elapsed time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import ColumnEncoder, TargetView


class DateEncoder(ColumnEncoder):
    """Year and elapsed time (standardised), month/weekday/day-of-year (and hour for datetimes) as
    sine/cosine pairs so December sits next to January, plus a missing flag."""

    name = "DateEncoder"

    def __init__(self, column: str, with_time: bool):
        self.column, self.with_time = column, with_time

    def fit_transform(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        stamps = pd.DatetimeIndex(values)
        seconds = stamps.asi8[~stamps.isna()] / 1e9
        self.mean = float(seconds.mean()) if seconds.size else 0.0
        self.std = float(seconds.std()) or 1.0 if seconds.size else 1.0
        cycles = ["month", "weekday", "day_of_year"] + (["hour"] if self.with_time else [])
        self.feature_names = [f"{self.column}:elapsed", f"{self.column}:day_of_month"]
        for cycle in cycles:
            self.feature_names += [f"{self.column}:{cycle}_sin", f"{self.column}:{cycle}_cos"]
        self.feature_names.append(f"{self.column}:missing")
        return self.transform(values)

    def transform(self, values: np.ndarray) -> np.ndarray:
        stamps = pd.DatetimeIndex(values)
        missing = np.asarray(stamps.isna())
        seconds = np.where(missing, self.mean, stamps.asi8 / 1e9)
        periods = [(stamps.month.to_numpy() - 1, 12), (stamps.day_of_week.to_numpy(), 7),
                   (stamps.day_of_year.to_numpy() - 1, 366)]
        if self.with_time:
            periods.append((stamps.hour.to_numpy() + stamps.minute.to_numpy() / 60, 24))
        parts = [(seconds - self.mean) / self.std, (np.nan_to_num(stamps.day.to_numpy(), nan=15) - 15.5) / 9]
        for value, period in periods:
            angle = 2 * np.pi * np.nan_to_num(value.astype("float64")) / period
            parts += [np.where(missing, 0.0, np.sin(angle)), np.where(missing, 0.0, np.cos(angle))]
        parts.append(missing.astype("float64"))
        return np.column_stack(parts).astype("float32")
