"""LightGBM's trees compiled to machine code (lleaves, on LLVM): the same predictions, several
times faster, for every model JOIN and one-row prediction of a tree model.

LightGBM walks its trees with a generic interpreter, about 20 ns a tree for each row here.
Compiled, a tree is a nest of comparisons: 1,000 trees of 31 leaves predicted 65,536 rows at
9.4 µs a row against 31.7 on one thread (3.4x), outputs equal to 1e-13. Linear leaves, which
lleaves does not compile, keep LightGBM's own predict, as do sparse inputs (text).

The code is built for the generic CPU of the training machine's architecture, not its exact
model, so a model trained on one machine of a cluster runs on another; it travels as bytes in
the model file and is loaded on first use. Where it cannot be loaded (another architecture,
lleaves missing) LightGBM predicts, with the same results.
"""

from __future__ import annotations

import logging
import pathlib
import tempfile
from typing import Any

import lightgbm as lgb
import numpy as np

log = logging.getLogger(__name__)

# Compile seconds per leaf without inlining, for up to _FEW_FEATURES features (1,000 trees of 31
# leaves on 80: 10.6 s here), and how it grows with more: 100 trees of 31 leaves took 0.9 s on 80
# features, 12.5 s on 800 and 203 s on 3,000 (the estimate gives 1.2, 39 and 280). Inlining
# predicts about 2x faster again but compiles about 7x slower, which no training budget affords
# at the sizes where it matters.
_SECONDS_PER_LEAF, _FEW_FEATURES, _FEATURE_GROWTH = 4e-4, 80, 1.5
_CPU = "generic"  # the architecture's baseline: runs on every machine of it


def available() -> bool:
    """Whether lleaves (and its LLVM) can be imported here."""
    try:
        import lleaves  # noqa: F401
    except Exception:  # an llvmlite built for another LLVM raises at import, not only ImportError
        return False
    return True


def _triple() -> str:
    import llvmlite.binding as llvm

    return str(llvm.get_process_triple())


def compilable(booster: lgb.Booster) -> bool:
    """Constant leaves only: lleaves ignores linear leaves' models."""
    return not booster.params.get("linear_tree", False)


def compile_seconds(booster: lgb.Booster, rounds: int) -> float:
    """A generous estimate of how long compiling the first ``rounds`` rounds takes."""
    per_round = max(1, booster.num_model_per_iteration())
    dumped = booster.dump_model(num_iteration=rounds)["tree_info"]
    leaves = sum(tree["num_leaves"] for tree in dumped[: rounds * per_round])
    width = max(1.0, booster.num_feature() / _FEW_FEATURES) ** _FEATURE_GROWTH
    return leaves * _SECONDS_PER_LEAF * width


class CompiledTrees:
    """A booster's first ``rounds`` rounds as machine code; ``predict`` gives Booster.predict's
    output (probabilities for classes), or None where the code cannot run."""

    def __init__(self, model_text: str, code: bytes, triple: str, n_features: int):
        self.model_text, self.code, self.triple, self.n_features = model_text, code, triple, n_features
        self._model: Any = None  # the loaded lleaves.Model (not pickled)
        self._unusable = False

    @classmethod
    def build(cls, booster: lgb.Booster, rounds: int) -> CompiledTrees | None:
        """Compile, or None when lleaves is missing or the booster cannot be compiled."""
        if not available() or not compilable(booster):
            return None
        import lleaves

        text = booster.model_to_string(num_iteration=rounds)
        with tempfile.TemporaryDirectory(prefix="augurdb-trees-") as folder:
            model_file, code_file = pathlib.Path(folder, "model.txt"), pathlib.Path(folder, "model.o")
            model_file.write_text(text)
            model = lleaves.Model(model_file=str(model_file))
            model.compile(cache=str(code_file), finline=False, target_cpu=_CPU, target_cpu_features="")
            compiled = cls(text, code_file.read_bytes(), _triple(), booster.num_feature())
        compiled._model = model
        return compiled

    def _load(self) -> Any:
        if self._model is None and not self._unusable:
            try:
                if self.triple != _triple():
                    raise RuntimeError(f"compiled for {self.triple}, this machine is {_triple()}")
                import lleaves

                with tempfile.TemporaryDirectory(prefix="augurdb-trees-") as folder:
                    model_file, code_file = pathlib.Path(folder, "model.txt"), pathlib.Path(folder, "model.o")
                    model_file.write_text(self.model_text)
                    code_file.write_bytes(self.code)
                    model = lleaves.Model(model_file=str(model_file))
                    model.compile(cache=str(code_file), target_cpu=_CPU, target_cpu_features="")
                self._model = model
            except Exception as error:  # LightGBM's own predict gives the same output
                log.warning("compiled trees not used: %s", error)
                self._unusable = True
        return self._model

    def predict(self, x: np.ndarray, threads: int) -> np.ndarray | None:
        model = self._load()
        if model is None or x.ndim != 2 or x.shape[1] != self.n_features:
            return None
        return np.asarray(model.predict(np.ascontiguousarray(x, dtype=np.float64), n_jobs=threads))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_model": None, "_unusable": False}
