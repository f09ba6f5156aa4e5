"""RNNEncoder: a GRU over word tokens, trained on the target, whose final state becomes features.

Unlike n-gram counts it sees word order. It is trained on the encoder's training rows with its
own inner hold-out for early stopping, and stops at the deadline the DataEncoder gives it; under
cross-validation each fold trains its own (``fold_features``).
"""

from __future__ import annotations

import re
import time
from collections import Counter

import numpy as np
import torch
from torch import nn

from .base import ColumnEncoder, TargetView

_TOKEN = re.compile(r"\w+|[^\w\s]")
_MAX_TOKENS = 64
_VOCABULARY = 8000
_DEFAULT_SECONDS = 20.0


class _GRUModel(nn.Module):
    def __init__(self, vocabulary: int, n_out: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, width, padding_idx=0)
        self.gru = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, n_out)

    def state(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != 0).sum(dim=1).clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, hidden = self.gru(packed)
        return hidden[-1]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.state(tokens))


class RNNEncoder(ColumnEncoder):
    """GRU text encoder: ``width`` features per text (its final hidden state)."""

    name = "RNNEncoder"

    def __init__(self, column: str, width: int = 32):
        self.column, self.width = column, width

    def _ids(self, texts: np.ndarray) -> torch.Tensor:
        out = np.zeros((len(texts), _MAX_TOKENS), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.vocabulary.get(t, 1) for t in _TOKEN.findall(str(text).lower())[:_MAX_TOKENS]]
            out[row, : len(ids)] = ids
        return torch.from_numpy(out)

    def fit_transform(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        counts = Counter(t for text in values for t in _TOKEN.findall(str(text).lower()))
        frequent = [t for t, c in counts.most_common(_VOCABULARY) if c >= 2]
        self.vocabulary = {t: i + 2 for i, t in enumerate(frequent)}  # 0 padding, 1 unknown
        self.classification = bool(target.n_classes)
        n_out = target.n_classes if self.classification else 1
        torch.manual_seed(target.seed)
        self.model = _GRUModel(len(self.vocabulary) + 2, n_out, self.width)
        deadline = target.deadline or time.monotonic() + _DEFAULT_SECONDS
        self._train(self._ids(values), target, deadline)
        self.feature_names = [f"{self.column}:gru_{i}" for i in range(self.width)]
        return self.transform(values)

    def _targets(self, target: TargetView) -> torch.Tensor:
        if self.classification:
            return torch.as_tensor(target.values, dtype=torch.long)
        y = target.values.astype("float64")
        return torch.as_tensor((y - y.mean()) / (y.std() or 1.0), dtype=torch.float32).unsqueeze(1)

    def _loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.classification:
            return nn.functional.cross_entropy(output, y)
        return nn.functional.mse_loss(output, y)

    def _train(self, tokens: torch.Tensor, target: TargetView, deadline: float) -> None:
        y = self._targets(target)
        order = np.random.default_rng(target.seed).permutation(len(tokens))
        cut = max(1, int(0.8 * len(order)))
        train, valid = order[:cut], order[cut:] if len(order) > cut else order[:cut]
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=3e-3)
        best, best_state, stale = np.inf, None, 0
        for _ in range(30):
            self.model.train()
            for start in range(0, len(train), 128):
                if time.monotonic() > deadline:
                    break
                rows = train[start : start + 128]
                optimiser.zero_grad()
                self._loss(self.model(tokens[rows]), y[rows]).backward()
                optimiser.step()
            self.model.eval()
            with torch.no_grad():
                loss = float(self._loss(self.model(tokens[valid]), y[valid]))
            if loss < best - 1e-4:
                best, best_state, stale = loss, {k: v.clone() for k, v in self.model.state_dict().items()}, 0
            else:
                stale += 1
            if stale >= 3 or time.monotonic() > deadline:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()

    def fold_features(self, values: np.ndarray, fit_rows: np.ndarray, target: TargetView) -> np.ndarray:
        """Every row encoded by a GRU trained on ``fit_rows`` alone: the one fitted on all rows
        learnt from the held-out rows' targets, and its features would score them optimistically."""
        texts = np.asarray(values, dtype=object)
        fold = RNNEncoder(self.column, self.width)
        fold.fit_transform(texts[fit_rows], TargetView(target.values[fit_rows], target.n_classes, target.seed,
                                                       target.deadline))
        return fold.transform(texts)

    def transform(self, values: np.ndarray) -> np.ndarray:
        tokens = self._ids(values)
        with torch.no_grad():
            states = [self.model.state(tokens[s : s + 2048]) for s in range(0, len(tokens), 2048)]
        return torch.cat(states).numpy().astype("float32") if states else np.zeros((0, self.width), "float32")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["model"] = (self.model.embed.num_embeddings, self.model.head.out_features, self.model.state_dict())
        return state

    def __setstate__(self, state: dict) -> None:
        vocabulary, n_out, weights = state.pop("model")
        self.__dict__.update(state)
        self.model = _GRUModel(vocabulary, n_out, self.width)
        self.model.load_state_dict(weights)
        self.model.eval()
