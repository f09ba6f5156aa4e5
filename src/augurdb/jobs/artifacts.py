"""Where model files live: the data directory by default, or a directory several servers share.

A training run writes its model into a staging directory and moves it into place whole
(one rename on one filesystem), so a reader never sees half a model, and a run that dies
leaves only staging files that the next run of the model clears.

Layout under the root:
    models/<model_id>/           a published model
    staging/<model_id>-<run>/    a run's model while it trains (depth 2, like models/<id>)
    training/<name>.parquet      a queued run's training rows
    files/, byom/                uploaded files and uploaded model code
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


class ArtifactStore:
    def __init__(self, root: Path):
        self.root = root
        for folder in ("models", "staging", "training"):
            (root / folder).mkdir(parents=True, exist_ok=True)

    def model_dir(self, model_id: int) -> Path:
        return self.root / "models" / str(model_id)

    def staging_dir(self, model_id: int, run_id: str) -> Path:
        return self.root / "staging" / f"{model_id}-{run_id}"

    def new_training_data(self) -> str:
        """A fresh name for a run's training rows; the name, not the path, goes into the catalog."""
        return f"{uuid.uuid4().hex}.parquet"

    def training_data(self, name: str) -> Path:
        return self.root / "training" / name

    def publish(self, staging: Path, model_id: int) -> None:
        """Move a finished run's model into place, replacing what an earlier run left."""
        target = self.model_dir(model_id)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)

    def clear_staging(self, model_id: int) -> None:
        """Remove what earlier runs of this model left half-written."""
        for leftover in (self.root / "staging").glob(f"{model_id}-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def remove(self, model_id: int) -> None:
        shutil.rmtree(self.model_dir(model_id), ignore_errors=True)
        self.clear_staging(model_id)
