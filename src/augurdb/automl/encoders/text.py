"""Bag-of-n-grams encoder for text: what wins short-text tasks such as spam or tweet classification."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from .base import ColumnEncoder, TargetView

_STAT_NAMES = ("characters", "words", "digit_share", "upper_share", "punctuation", "links")


def text_statistics(texts: np.ndarray) -> np.ndarray:
    """Cheap surface features of each text: length, word count, share of digits and capitals,
    punctuation marks and links (spam and urgent messages differ in all of them)."""
    rows = np.zeros((len(texts), len(_STAT_NAMES)), dtype="float64")
    for i, text in enumerate(texts):
        length = len(text)
        if not length:
            continue
        rows[i] = (
            np.log1p(length),
            np.log1p(text.count(" ") + 1),
            sum(ch.isdigit() for ch in text) / length,
            sum(ch.isupper() for ch in text) / length,
            np.log1p(sum(ch in "!?$£€%" for ch in text)),
            float("http" in text or "www" in text),
        )
    return rows


class TfidfTextEncoder(ColumnEncoder):
    """TF-IDF of word 1-2-grams and character 2-5-grams (sublinear, vocabulary capped), plus
    standardised text statistics. Returns a sparse matrix."""

    name = "TfidfTextEncoder"

    def __init__(self, column: str, max_words: int = 10_000, max_char_ngrams: int = 10_000):
        self.column = column
        self.words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=max_words,
                                     sublinear_tf=True, lowercase=True, dtype=np.float32)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3,
                                     max_features=max_char_ngrams, sublinear_tf=True, dtype=np.float32)

    def fit_transform(self, values: np.ndarray, target: TargetView) -> sp.csr_matrix:
        texts = values.astype(str)
        blocks = []
        self.feature_names = []
        for prefix, vectorizer in (("word", self.words), ("char", self.chars)):
            try:
                blocks.append(vectorizer.fit_transform(texts))
            except ValueError:  # too few distinct tokens to keep any (e.g. a near-empty column)
                setattr(self, prefix + "s", None)
                continue
            self.feature_names += [f"{self.column}:{prefix}:{t}" for t in vectorizer.get_feature_names_out()]
        stats = text_statistics(texts)
        self.stat_mean, self.stat_std = stats.mean(axis=0), stats.std(axis=0) + 1e-9
        self.feature_names += [f"{self.column}:{name}" for name in _STAT_NAMES]
        return self._join(blocks, stats)

    def _join(self, blocks: list, stats: np.ndarray) -> sp.csr_matrix:
        scaled = ((stats - self.stat_mean) / self.stat_std).astype("float32")
        return sp.hstack([*blocks, sp.csr_matrix(scaled)], format="csr", dtype="float32")

    def transform(self, values: np.ndarray) -> sp.csr_matrix:
        texts = values.astype(str)
        blocks = [v.transform(texts) for v in (self.words, self.chars) if v is not None]
        return self._join(blocks, text_statistics(texts))
