"""Per-column statistics computed once by StatsGenerator and reused by every later phase."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ColumnStats:
    """What the engine knows about one column: its type (and why) plus the figures encoders need."""

    name: str
    dtype: str
    reason: str
    n_rows: int
    n_missing: int
    n_unique: int
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    is_integer: bool = False
    histogram: list[int] = field(default_factory=list)
    bin_edges: list[float] = field(default_factory=list)
    # Most frequent values (as text for classes) with their counts, most frequent first.
    top_values: list[tuple[str, int]] = field(default_factory=list)
    mean_words: float | None = None
    numeric_tokens: bool = False  # categorical/binary values that are numbers (e.g. 1/2/3 codes)
    user_typed: bool = False

    @property
    def missing_share(self) -> float:
        """Share of rows where the column is missing."""
        return self.n_missing / self.n_rows if self.n_rows else 0.0

    def as_dict(self) -> dict:
        """A JSON-friendly view of the statistics."""
        return {
            "type": self.dtype,
            "reason": self.reason,
            "missing_share": round(self.missing_share, 4),
            "unique": self.n_unique,
            "mean": self.mean,
            "std": self.std,
            "min": self.minimum,
            "max": self.maximum,
        }
