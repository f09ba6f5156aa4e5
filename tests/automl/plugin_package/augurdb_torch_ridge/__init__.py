"""TorchRidge: a ridge-regularised linear model (classes: softmax) trained with PyTorch."""

from __future__ import annotations

import time

import numpy as np
import torch

from augurdb.automl.features import to_dense
from augurdb.automl.mixers import Mixer, TrainingData, amounts_only, take_features


class TorchRidge(Mixer):
    """Full-batch L-BFGS on the training rows (the loss is convex: a few dozen steps converge),
    stopping at the deadline; keeps the weights with the lowest held-out loss."""

    name = "TorchRidge"
    budget_share = 0.10  # weighed against the built-in mixers' shares (LightGBM: 0.55)

    def __init__(self, l2: float = 1e-3, max_steps: int = 100):
        self.l2, self.max_steps = l2, max_steps

    def warm_up(self) -> None:
        """One L-BFGS step on a toy problem before the clock starts: torch's first optimiser step
        sets up its kernels and thread pool, which took the whole of a 1.6 s share here."""
        layer = torch.nn.Linear(2, 1)
        optimiser = torch.optim.LBFGS(layer.parameters(), max_iter=1, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = layer(torch.zeros(4, 2)).square().mean()
            loss.backward()
            return loss

        optimiser.step(closure)

    def fit(self, data: TrainingData, deadline: float) -> None:
        data, self.amounts = amounts_only(data)  # category codes are labels, not amounts: left out
        torch.manual_seed(data.seed)
        self.classification = data.task.is_classification
        x, x_valid = self._tensor(data.x_train), self._tensor(data.x_valid)
        if self.classification:
            y, y_valid = torch.as_tensor(data.y_train), torch.as_tensor(data.y_valid)
            outputs = data.task.n_classes
        else:  # learn a standardised target; predict() undoes it
            self.y_mean, self.y_std = float(data.y_train.mean()), float(data.y_train.std()) or 1.0
            y = torch.as_tensor((data.y_train - self.y_mean) / self.y_std, dtype=torch.float32)
            y_valid = torch.as_tensor((data.y_valid - self.y_mean) / self.y_std, dtype=torch.float32)
            outputs = 1
        self.layer = torch.nn.Linear(x.shape[1], outputs)
        optimiser = torch.optim.LBFGS(self.layer.parameters(), max_iter=1, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = self._loss(self.layer(x), y) + self.l2 * self.layer.weight.square().sum()
            loss.backward()
            return loss

        best, best_state, self.steps = float("inf"), None, 0
        while self.steps < self.max_steps and time.monotonic() < deadline:
            optimiser.step(closure)
            self.steps += 1
            with torch.no_grad():
                valid = float(self._loss(self.layer(x_valid), y_valid))
            if valid < best:
                best, best_state = valid, {k: v.clone() for k, v in self.layer.state_dict().items()}
        if best_state is not None:
            self.layer.load_state_dict(best_state)

    def _loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.classification:
            return torch.nn.functional.cross_entropy(output, y)
        return torch.nn.functional.mse_loss(output[:, 0], y)

    @staticmethod
    def _tensor(x) -> torch.Tensor:
        return torch.from_numpy(to_dense(x))

    def predict(self, x) -> np.ndarray:
        with torch.no_grad():
            output = self.layer(self._tensor(take_features(x, self.amounts)))
        if self.classification:
            return torch.softmax(output, dim=1).numpy().astype("float64")
        return output[:, 0].numpy().astype("float64") * self.y_std + self.y_mean

    def settings(self) -> dict:
        return {"l2": self.l2, "steps": self.steps}
