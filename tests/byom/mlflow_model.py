"""The MindsDB MLflow tutorial's tweet classifier, rebuilt as a real MLflow pyfunc model.

The tutorial trains a text classifier on Kaggle's disaster tweets, wraps it in a
`mlflow.pyfunc.PythonModel` whose `predict` cleans the raw text itself, and serves it with
`mlflow models serve`. Here the classifier is scikit-learn TF-IDF + logistic regression, so it
trains in seconds on a laptop; the cleaning is the tutorial's (lower-case, no URLs, no mentions).
"""

from __future__ import annotations

import pickle
import re
import sys
import tempfile
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import cloudpickle
import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from tests.conftest import SHARED_DATA

SEED = 42
TEST_FRACTION = 0.2
TRAIN_CSV = SHARED_DATA / "disaster_tweets" / "train.csv"
INPUT_COLUMN = "text"
OUTPUT_COLUMN = "target"

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", INPUT_COLUMN)]),
    outputs=Schema([ColSpec("long", OUTPUT_COLUMN)]),
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_NON_WORD = re.compile(r"[^a-z0-9#\s]")
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """The tutorial's pre-processing: lower-case, drop URLs and @mentions, keep words and hashtags."""
    text = _MENTION.sub(" ", _URL.sub(" ", text.lower()))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


@lru_cache(maxsize=1)
def _split() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = pd.read_csv(TRAIN_CSV, usecols=["id", "text", "target"])
    train, test = train_test_split(rows, test_size=TEST_FRACTION, random_state=SEED,
                                   stratify=rows["target"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def train_rows() -> pd.DataFrame:
    """The training split (id, text, target) of train.csv, fixed by SEED."""
    return _split()[0].copy()


def held_out_rows(n: int | None = None) -> pd.DataFrame:
    """The first `n` rows (all when None) of the held-out split: id, text, target."""
    test = _split()[1]
    return (test if n is None else test.head(n)).copy()


def train_pipeline(rows: pd.DataFrame) -> Pipeline:
    """Fit TF-IDF + logistic regression on already-cleaned text."""
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=1000, random_state=SEED),
    )
    pipeline.fit(rows[INPUT_COLUMN].map(clean_text), rows[OUTPUT_COLUMN])
    return pipeline


class TweetClassifier(mlflow.pyfunc.PythonModel):
    """Pyfunc wrapper: raw tweets in (column `text`), a DataFrame with int column `target` out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["pipeline"], "rb") as f:
            self._pipeline: Pipeline = pickle.load(f)

    # model_input stays unannotated: MLflow 3 turns a type hint there into a signature of its
    # own and then accepts only {"inputs": ...} requests, which is not the tutorial's model.
    def predict(self, context: mlflow.pyfunc.PythonModelContext, model_input,
                params: dict | None = None) -> pd.DataFrame:
        texts = pd.Series(model_input[INPUT_COLUMN]).fillna("").astype(str).map(clean_text)
        labels = self._pipeline.predict(texts).astype("int64")
        return pd.DataFrame({OUTPUT_COLUMN: labels})


def _pip_requirements() -> list[str]:
    # Given explicitly: MLflow would otherwise infer them by importing the model in a subprocess.
    return [f"{name}=={version(name)}" for name in ("mlflow-skinny", "scikit-learn", "pandas", "cloudpickle")]


def save_tweet_model(path: Path) -> Path:
    """Train on the training split and save the pyfunc model into the new directory `path`."""
    rows = train_rows()
    pipeline = train_pipeline(rows)
    module = sys.modules[__name__]
    # By value, so the served model does not need this repository's `tests` package to load.
    cloudpickle.register_pickle_by_value(module)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            artifact = Path(tmp) / "pipeline.pkl"
            artifact.write_bytes(pickle.dumps(pipeline))
            mlflow.pyfunc.save_model(
                str(path), python_model=TweetClassifier(), artifacts={"pipeline": str(artifact)},
                signature=SIGNATURE, input_example=rows[[INPUT_COLUMN]].head(2),
                pip_requirements=_pip_requirements(),
            )
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    return path


class FailsOnBoom(mlflow.pyfunc.PythonModel):
    """A model that raises for one input: its error must reach the user whole."""

    def predict(self, context: mlflow.pyfunc.PythonModelContext, model_input,
                params: dict | None = None) -> pd.DataFrame:
        texts = pd.Series(model_input[INPUT_COLUMN]).astype(str)
        if (texts == "boom").any():
            raise ValueError("this model cannot read 'boom'")
        return pd.DataFrame({OUTPUT_COLUMN: texts.str.len().astype("int64")})


def save_failing_model(path: Path) -> Path:
    """Save FailsOnBoom (by value, like the tweet model) into the new directory `path`."""
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        mlflow.pyfunc.save_model(str(path), python_model=FailsOnBoom(), pip_requirements=_pip_requirements())
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    return path
