"""PyTorch mixers: FullyConnectedNet, EnsembleFullyConnectedNet and EnsembleConvNet (CPU).

Every network maps a batch (B, features) to (members, B, outputs); single networks have one
member. Members train on the same batches with independent weights and their outputs are
averaged, which is how the ensembles reduce variance without extra passes over the data.
"""

from __future__ import annotations

import copy
import time
from typing import cast

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..encoders.base import Matrix
from ..features import to_dense
from .base import Mixer, TrainingData, amounts_only, take_features

_MAX_EPOCHS = 300
# Measured on the benchmark tables (one fold each; concrete R², titanic and bank balanced
# accuracy): patience 10 at lr 2e-3 stopped at a plateau the nets leave later (0.871, 0.769,
# 0.752); patience 30 at 5e-3 with lighter dropout reached 0.903, 0.785, 0.780.
_PATIENCE = 30
_LEARNING_RATE = 5e-3
# Widths are scaled down (halved, at most twice) until the budget affords this many epochs. On
# large tables a wide net stops at its deadline after a few epochs: nyc_flights (78k rows, 10 s)
# trains 7 epochs at width 256 for a held-out R² of 0.963, 20 at width 64 for 0.967; where the
# full width affords them (concrete: ~50 epochs), it is kept (0.910 against 0.906 at width 64).
_MIN_EPOCHS = 20
_WIDTH_SCALES = (1.0, 0.5, 0.25)
_TIMED_STEPS = 3
_warmed_up = False  # torch's first passes in a process are slow (thread pool, kernel set-up)


_PIECEWISE_BINS = 8
_EMPTY_BIN = 1e30


def _batch_size(n: int) -> int:
    return int(np.clip(n // 32, 32, 512))


class _InputLinear(nn.Linear):
    """A network's first layer, which also takes a sparse batch (text's TF-IDF, ~20 non-zeros in
    20,000 columns) and multiplies it as it is: densified, sms_spam's rows cost 450 µs each to
    predict and most of the nets' training time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_sparse:
            # Each non-zero adds a row of the transposed weight: made contiguous, that is 7x faster
            # than striding through the (out, in) weight (12 against 80 ms for 2,000 rows of text).
            return torch.sparse.mm(x, self.weight.t().contiguous()) + self.bias
        return super().forward(x)


class _MLP(nn.Module):
    def __init__(self, n_in: int, n_out: int, width: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            _InputLinear(n_in, width), nn.SiLU(), nn.Dropout(dropout),
            nn.Linear(width, width // 2), nn.SiLU(), nn.Dropout(dropout / 2),
            nn.Linear(width // 2, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _ConvNet(nn.Module):
    """Projects the features to a 64-long sequence and convolves along it."""

    def __init__(self, n_in: int, n_out: int, channels: int = 16):
        super().__init__()
        self.project = nn.Sequential(_InputLinear(n_in, 64), nn.SiLU())
        self.conv = nn.Sequential(
            nn.Conv1d(1, channels, 5, padding=2), nn.SiLU(),
            nn.Conv1d(channels, channels, 5, padding=2), nn.SiLU(), nn.MaxPool1d(4),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(channels * 16, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(self.project(x).unsqueeze(1)))


class _PiecewiseLinear(nn.Module):
    """Adds to a dense batch, for each many-valued column, its piecewise-linear encoding over
    quantile bins (Gorishniy et al., 2022: "On Embeddings for Numerical Features in Tabular Deep
    Learning"): bin t reads 0 below it, 1 above it and the position within it. A net then bends
    a column's effect at any bin edge, as a tree splits on it; the column itself stays in the
    batch, so rows beyond the training range still move the output."""

    columns: torch.Tensor
    low: torch.Tensor
    width: torch.Tensor

    def __init__(self, columns: np.ndarray, edges: np.ndarray):
        super().__init__()
        self.register_buffer("columns", torch.as_tensor(columns, dtype=torch.long))
        self.register_buffer("low", torch.as_tensor(edges[:, :-1], dtype=torch.float32))
        self.register_buffer("width", torch.as_tensor(np.diff(edges, axis=1), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bins = torch.clamp((x[:, self.columns, None] - self.low) / self.width, 0.0, 1.0)
        return torch.cat([x, bins.flatten(1)], dim=1)


class _Encoded(nn.Module):
    def __init__(self, encoding: _PiecewiseLinear, net: nn.Module):
        super().__init__()
        self.encoding, self.net = encoding, net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.encoding(x))


def _quantile_edges(x: Matrix, bins: int = _PIECEWISE_BINS, sample: int = 20_000) -> tuple[np.ndarray, np.ndarray] | None:
    """The columns of a dense matrix with more than ``bins`` distinct values, and each one's
    ``bins + 1`` quantile edges (repeated edges pad out as empty bins that always read 0)."""
    if sp.issparse(x) or x.shape[0] < 2 * bins:
        return None
    rows = np.asarray(x[:: max(1, x.shape[0] // sample)], dtype="float64")
    columns, edges = [], []
    for j in range(rows.shape[1]):
        if np.unique(rows[:, j]).size <= bins or not np.all(np.isfinite(rows[:, j])):
            continue
        cuts = np.unique(np.quantile(rows[:, j], np.linspace(0, 1, bins + 1)))
        pad = np.full(bins + 1 - cuts.size, cuts[-1])
        edges.append(np.concatenate([cuts, pad]))
        columns.append(j)
    if not columns:
        return None
    table = np.vstack(edges)
    # Every bin gets a width: a padded one lies beyond the last edge, where no row reaches it. A zero
    # width would read 0 too, but its gradient (explanations) would be 0/0.
    widths = np.diff(table, axis=1)
    table[:, 1:] = table[:, :1] + np.cumsum(np.where(widths > 0, widths, _EMPTY_BIN), axis=1)
    return np.asarray(columns), table


class _Members(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members])


class NeuralMixer(Mixer):
    """Shared training loop: AdamW, early stopping on held-out loss, learning-rate halving on
    plateaus, and a hard stop at the deadline (checked every batch)."""

    name = "NeuralNet"
    width_scale = 1.0  # of the layers' widths, chosen by fit (models saved before: full width)
    piecewise: tuple[np.ndarray, np.ndarray] | None = None  # (columns, bin edges): see _PiecewiseLinear
    amounts: np.ndarray | None = None  # the features it reads, without category codes (base.amounts_only)

    def _build(self, n_in: int, n_out: int) -> nn.Module:
        """The network, its widths multiplied by ``width_scale`` (see ``_width``)."""
        raise NotImplementedError

    def _network(self) -> nn.Module:
        """The network for this mixer's inputs: its many-valued columns encoded first."""
        if self.piecewise is None:
            return self._build(self.n_in, self.n_out)
        columns, edges = self.piecewise
        encoding = _PiecewiseLinear(columns, edges)
        return _Encoded(encoding, self._build(self.n_in + len(columns) * (edges.shape[1] - 1), self.n_out))

    def _width(self, full: int) -> int:
        return max(4, int(full * self.width_scale))

    def warm_up(self) -> None:
        global _warmed_up
        if not _warmed_up:
            net = _Members([_MLP(8, 2, width=16, dropout=0.1), _ConvNet(8, 2)])
            optimiser = torch.optim.AdamW(net.parameters())
            for _ in range(2):
                optimiser.zero_grad()
                net(torch.zeros(32, 8)).sum().backward()
                optimiser.step()
            _warmed_up = True

    def fit(self, data: TrainingData, deadline: float) -> None:
        data, self.amounts = amounts_only(data)
        torch.set_num_threads(max(1, data.threads))
        torch.manual_seed(data.seed)
        self.task = data.task
        self.n_in = data.x_train.shape[1]
        self.n_out = data.task.n_classes if data.task.is_classification else 1
        self.feature_mean = np.asarray(data.x_train.mean(axis=0), dtype="float32").ravel()
        if not data.task.is_classification:
            self.y_mean, self.y_std = float(data.y_train.mean()), float(data.y_train.std()) or 1.0
        self.piecewise = _quantile_edges(data.x_train)
        self.width_scale = self._affordable_width(data, deadline)
        self.net = self._network()
        self._train(data, deadline)

    def _affordable_width(self, data: TrainingData, deadline: float) -> float:
        """The largest width scale whose epochs, timed on a few training steps, fit _MIN_EPOCHS
        times before the deadline (the smallest scale when none does)."""
        n = data.x_train.shape[0]
        batch = _batch_size(n)
        rows = np.arange(min(batch, n))
        x, y = self._batch(data.x_train[rows]), self._targets(data.y_train[rows])
        for scale in _WIDTH_SCALES:
            self.width_scale = scale
            net = self._network()
            optimiser = torch.optim.AdamW(net.parameters(), lr=_LEARNING_RATE)
            for step in range(_TIMED_STEPS + 1):
                if step == 1:  # the first step allocates; time the ones after it
                    started = time.perf_counter()
                optimiser.zero_grad()
                self._loss(net(x), y).backward()
                optimiser.step()
            epoch = (time.perf_counter() - started) / _TIMED_STEPS * np.ceil(n / batch)
            if time.monotonic() + _MIN_EPOCHS * epoch <= deadline:
                return scale
        return _WIDTH_SCALES[-1]

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        if self.task.is_classification:
            return torch.as_tensor(y, dtype=torch.long)
        return torch.as_tensor((y - self.y_mean) / self.y_std, dtype=torch.float32).unsqueeze(1)

    def _loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.task.is_classification:
            flat = output.reshape(-1, output.shape[-1])
            return nn.functional.cross_entropy(flat, target.repeat(output.shape[0]))
        # Squared error: what R² and the ensemble's selection score (on a standardised target).
        return nn.functional.mse_loss(output, target.expand_as(output))

    def _train(self, data: TrainingData, deadline: float) -> None:
        n = data.x_train.shape[0]
        batch = _batch_size(n)
        optimiser = torch.optim.AdamW(self.net.parameters(), lr=_LEARNING_RATE, weight_decay=1e-4)
        y_train, y_valid = self._targets(data.y_train), self._targets(data.y_valid)
        x_valid = data.x_valid
        rng = np.random.default_rng(data.seed)
        best_loss, best_state, stale = np.inf, copy.deepcopy(self.net.state_dict()), 0
        self.epochs = 0
        for _epoch in range(_MAX_EPOCHS):
            self.net.train()
            order = rng.permutation(n)
            for start in range(0, n, batch):
                if time.monotonic() > deadline:
                    break
                rows = order[start : start + batch]
                if len(rows) < 2:
                    continue
                optimiser.zero_grad()
                loss = self._loss(self.net(self._batch(data.x_train[rows])), y_train[rows])
                loss.backward()
                optimiser.step()
            self.epochs += 1
            valid_loss = self._evaluate(x_valid, y_valid)
            if valid_loss < best_loss - 1e-5:
                best_loss, best_state, stale = valid_loss, copy.deepcopy(self.net.state_dict()), 0
            else:
                stale += 1
                if stale % 4 == 0:
                    for group in optimiser.param_groups:
                        group["lr"] /= 2
            if stale >= _PATIENCE or time.monotonic() > deadline:
                break
        self.net.load_state_dict(best_state)
        self.net.eval()

    def settings(self) -> dict:
        return {"width_scale": self.width_scale, "epochs": self.epochs}

    @staticmethod
    def _tensor(x: Matrix) -> torch.Tensor:
        return torch.from_numpy(to_dense(x))

    @staticmethod
    def _batch(x: Matrix) -> torch.Tensor:
        """A batch for the forward pass: sparse rows stay sparse (the first layer takes them)."""
        if not sp.issparse(x):
            return torch.from_numpy(to_dense(x))
        rows = cast(sp.csr_matrix, x).tocsr()
        rows.sum_duplicates()  # canonical (sorted, no repeats), as is_coalesced below states
        coo = rows.tocoo()
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        values = torch.from_numpy(coo.data.astype(np.float32))
        return torch.sparse_coo_tensor(indices, values, coo.shape, check_invariants=False, is_coalesced=True)

    def _forward_batches(self, x: Matrix) -> torch.Tensor:
        self.net.eval()
        with torch.no_grad():
            return torch.cat([self.net(self._batch(x[s : s + 4096])) for s in range(0, x.shape[0], 4096)], dim=1)

    def _evaluate(self, x: Matrix, y: torch.Tensor) -> float:
        return float(self._loss(self._forward_batches(x), y))

    def predict(self, x: Matrix) -> np.ndarray:
        output = self._forward_batches(take_features(x, self.amounts))
        if self.task.is_classification:
            return torch.softmax(output, dim=-1).mean(dim=0).numpy().astype("float64")
        return output.mean(dim=0)[:, 0].numpy().astype("float64") * self.y_std + self.y_mean

    def contributions(self, x: Matrix, groups: sp.csr_matrix, classes: np.ndarray | None) -> np.ndarray:
        """Gradient x (input - training mean), summed per column: a first-order attribution."""
        x = take_features(x, self.amounts)
        if self.amounts is not None:
            groups = groups[self.amounts]
        rows = []
        for start in range(0, x.shape[0], 1024):
            inputs = self._tensor(x[start : start + 1024]).requires_grad_(True)
            output = self.net(inputs).mean(dim=0)
            if self.task.is_classification:
                picked = classes[start : start + 1024] if classes is not None else output.argmax(dim=1).numpy()
                chosen = output[torch.arange(len(picked)), torch.as_tensor(picked)]
                if self.task.n_classes == 2:  # log-odds of the chosen class against the other
                    chosen = chosen - output[torch.arange(len(picked)), torch.as_tensor(1 - picked)]
            else:
                chosen = output[:, 0] * self.y_std
            (gradient,) = torch.autograd.grad(chosen.sum(), inputs)
            attribution = (gradient * (inputs.detach() - torch.from_numpy(self.feature_mean))).numpy()
            rows.append(np.asarray(attribution @ groups))
        return np.vstack(rows) if rows else np.zeros((0, groups.shape[1]))

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["net"] = self.net.state_dict()  # weights only: portable across processes
        return state

    def __setstate__(self, state: dict) -> None:
        weights = state.pop("net")
        self.__dict__.update(state)
        self.net = self._network()
        self.net.load_state_dict(weights)
        self.net.eval()


class FullyConnectedNet(NeuralMixer):
    """One two-hidden-layer perceptron."""

    name = "FullyConnectedNet"

    def _build(self, n_in: int, n_out: int) -> nn.Module:
        return _Members([_MLP(n_in, n_out, width=self._width(256), dropout=0.1)])


class EnsembleFullyConnectedNet(NeuralMixer):
    """Three perceptrons of different widths and dropout, averaged."""

    name = "EnsembleFullyConnectedNet"

    def _build(self, n_in: int, n_out: int) -> nn.Module:
        return _Members([_MLP(n_in, n_out, self._width(width), dropout)
                         for width, dropout in ((128, 0.1), (256, 0.2), (64, 0.0))])


class EnsembleConvNet(NeuralMixer):
    """Two small 1-D convolutional networks over a learned projection of the features, averaged."""

    name = "EnsembleConvNet"

    def _build(self, n_in: int, n_out: int) -> nn.Module:
        return _Members([_ConvNet(n_in, n_out, channels=self._width(16)), _ConvNet(n_in, n_out, channels=self._width(24))])
