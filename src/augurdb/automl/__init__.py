"""augurdb's built-in AutoML engine, a standalone library.

    predictor = learn(df, "target", time_budget=30)
    predictor.predict(new_rows)        # <target>, <target>_confidence, <target>_explain[, _min, _max]
    predictor.save(path); Predictor.load(path); predictor.describe("model")

See docs/automl.md for the pipeline, types, encoders, mixers and calibration.
"""

from .errors import AutoMLError
from .predictor import Predictor, learn

__all__ = ["learn", "Predictor", "AutoMLError"]
