"""A Ray Serve application as MindsDB's Ray Serve tutorial writes one: a FastAPI ingress whose
`/train` fits a scikit-learn model on the rows posted to it and whose `/predict` answers
`{"prediction": [...]}`. A second pair of routes takes MindsDB's Parquet bodies (`is_parquet`).

    python tests/byom/ray_app.py PORT TEMP_DIR

starts a local Ray instance (no dashboard, usage stats off), serves the app at
http://127.0.0.1:PORT/my_model and prints "ready" once it answers.
"""

# No `from __future__ import annotations`: FastAPI must see `Request` itself, not its name, once
# Ray has shipped the class to its replica.
import io
import json
import os
import sys
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # nothing written to ~/.ray

import pandas as pd  # noqa: E402
import ray  # noqa: E402
from fastapi import FastAPI, Request, Response  # noqa: E402
from ray import serve  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

api = FastAPI()


@serve.deployment
@serve.ingress(api)
class MyModel:
    """The tutorial's model, plus what the tests need: one model per set of feature columns (so
    tests do not undo each other) and the requests it got."""

    def __init__(self) -> None:
        self.models: dict[tuple[str, ...], LogisticRegression] = {}
        self.seen: list[dict] = []

    @api.post("/train")
    async def train(self, request: Request) -> dict:
        data = await request.json()
        df = pd.DataFrame(json.loads(data["df"]))
        return self._fit(df, data["target"], data.get("args") or {})

    @api.post("/predict")
    async def predict(self, request: Request) -> dict:
        data = await request.json()
        df = pd.DataFrame(json.loads(data["df"]))
        return {"prediction": self._predict(df, data.get("pred_args") or {})}

    @api.post("/train_parquet")
    async def train_parquet(self, request: Request) -> dict:
        form = await request.form()
        df = pd.read_parquet(io.BytesIO(await form["df"].read()))
        return self._fit(df, str(form["target"]), json.loads(str(form["args"])))

    @api.post("/predict_parquet")
    async def predict_parquet(self, request: Request) -> Response:
        form = await request.form()
        df = pd.read_parquet(io.BytesIO(await form["df"].read()))
        answer = pd.DataFrame({"prediction": self._predict(df, json.loads(str(form["pred_args"])))})
        return Response(answer.to_parquet(), media_type="application/octet-stream")

    @api.get("/seen")
    async def last_requests(self) -> list[dict]:
        return self.seen

    def _fit(self, df: pd.DataFrame, target: str, args: dict) -> dict:
        self.seen.append({"route": "train", "columns": sorted(df.columns), "rows": len(df), "args": args})
        if args.get("fail_training"):
            return {"status": "the training set has too few classes"}
        features = tuple(sorted(set(df.columns) - {target}))
        self.models[features] = LogisticRegression(max_iter=1000).fit(df[list(features)], df[target])
        return {"status": "ok"}

    def _predict(self, df: pd.DataFrame, pred_args: dict) -> list[float]:
        self.seen.append({"route": "predict", "columns": sorted(df.columns), "rows": len(df),
                          "pred_args": pred_args})
        features = tuple(sorted(df.columns))
        if features not in self.models:
            raise RuntimeError(f"no model trained on {features}: POST /my_model/train first")
        if pred_args.get("fail"):
            raise ValueError("asked to fail by pred_args")
        offset = float(pred_args.get("offset", 0))
        return [float(x) + offset for x in self.models[features].predict(df[list(features)])]


def main() -> None:
    port, temp_dir = int(sys.argv[1]), sys.argv[2]
    ray.init(include_dashboard=False, num_cpus=1, log_to_driver=False, _temp_dir=temp_dir)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(MyModel.bind(), route_prefix="/my_model")
    print("ready", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
