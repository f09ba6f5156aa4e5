"""Models behind a Ray Serve application (MindsDB's `ray_serve` engine and `format='ray_server'`).

    CREATE MODEL rs FROM pg (SELECT sqft, rental_price FROM demo_data.home_rentals)
    PREDICT rental_price
    USING engine = 'ray_serve', train_url = 'http://127.0.0.1:8000/my_model/train',
          predict_url = 'http://127.0.0.1:8000/my_model/predict';

With FROM, the training rows are posted to `train_url` (`url.train`) by a training worker; the
application trains itself and answers `{"status": "ok"}`. Without FROM, a model already served at
`predict_url` (`url.predict`) is linked, its columns taken from dtype_dict. Both use MindsDB's
request bodies: JSON `{"df": "<rows as a JSON string>", "target": ..., "args": {...}}` to train and
`{"df": ..., "pred_args": {...}}` to predict, answered by `{"prediction": [...]}`; or with
`is_parquet = true`, multipart forms whose `df` part is Parquet. Only the model's input columns
are sent: never a row id, never the target.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from augurdb.errors import ModelEndpointError, WrongArguments
from augurdb.integrations.ml.base import (
    EngineCapabilities,
    ModelSchema,
    PredictRequest,
    ProgressFn,
    TrainingResult,
)
from augurdb.integrations.ml.http_client import (
    Endpoint,
    EndpointError,
    column_of_predictions,
    in_batches,
    json_records,
    pick,
    pick_target,
    positive_option,
)
from augurdb.integrations.ml.linked_schema import (
    answered_type,
    declared_columns,
    dtype_of_arrow,
    example_row,
    read_link,
    save_link,
)

# The model's USING options reach the application as `args` when it trains, as MindsDB sent
# them (URLs, format and dtype_dict included), all but the token; predict-time USING options are
# its `pred_args`, all but how augurdb batches the calls.
NOT_FORWARDED = {"api_token", "engine"}
BATCHING_OPTIONS = {"batch_size", "in_flight"}
LINK_FILE = "ray_serve_link.json"
_PARQUET = "application/octet-stream"


@dataclass(frozen=True)
class RayLink:
    """How to call the application and read its answer."""

    predict_url: str
    target: str
    inputs: tuple[tuple[str, str], ...]
    target_type: str
    train_url: str | None = None
    is_parquet: bool = False
    batch_size: int = 1000
    in_flight: int = 4
    timeout: float = 30.0
    train_timeout: float = 3600.0
    api_token: str | None = None

    @classmethod
    def from_options(cls, target: str, options: dict[str, Any], inputs: tuple[tuple[str, str], ...] = (),
                     target_type: str = "") -> RayLink:
        predict_url = _url(options, "predict")
        if predict_url is None:
            raise WrongArguments("[ray_serve] give the application's prediction URL: "
                                 "USING predict_url = 'http://host:8000/my_model/predict'")
        token = options.get("api_token")
        return cls(predict_url, target, inputs, target_type, _url(options, "train"),
                   str(options.get("is_parquet", "false")).lower() in ("1", "true"),
                   _positive(options, "batch_size", 1000, int), _positive(options, "in_flight", 4, int),
                   _positive(options, "timeout", 30.0, float), _positive(options, "train_timeout", 3600.0, float),
                   str(token) if token else None)

    def endpoint(self, url: str, timeout: float) -> Endpoint:
        headers = {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}
        return Endpoint(url, timeout, headers, engine="ray_serve")


def _url(options: dict[str, Any], kind: str) -> str | None:
    url = options.get(f"url.{kind}") or options.get(f"{kind}_url")
    if url is None:
        return None
    if urlsplit(str(url)).scheme not in ("http", "https"):
        raise WrongArguments(f"[ray_serve] {kind}_url must be an http(s) URL, got {url!r}")
    return str(url)


def _positive(options: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    return positive_option(options, key, default, kind, "ray_serve")


def application_args(target: str, options: dict[str, Any]) -> dict[str, Any]:
    """What the application gets as `args` when it trains."""
    return {**{k: v for k, v in options.items() if k not in NOT_FORWARDED}, "target": target}


class RayServeEngine:
    """Trains through a Ray Serve application's endpoint, or links a model it already serves."""

    name = "ray_serve"
    capabilities = EngineCapabilities(needs_training_data=True, links=True, trains_in_worker=True,
                                      predicts="remote")

    def validate(self, target: str, options: dict[str, Any]) -> None:
        RayLink.from_options(target, options)

    def validate_data(self, data: pa.Table, target: str, options: dict[str, Any]) -> None:
        """With training rows, the application must be up before a worker posts them: a GET on its
        train route (which only takes POST) answers 405 without training anything."""
        link = RayLink.from_options(target, options)
        if link.train_url is None:
            raise WrongArguments("[ray_serve] CREATE MODEL ... FROM trains through the application: give "
                                 "train_url (or leave out FROM to link a model it already serves)")
        _check_route(link.train_url)
        _check_route(link.predict_url)

    def link(self, target: str, options: dict[str, Any], artifact_dir: Path) -> ModelSchema:
        """A model the application already serves: one example row checks that it answers."""
        inputs, target_type = declared_columns(target, options, "ray_serve")
        link = RayLink.from_options(target, options, inputs, target_type)
        values = RayServeModel(link).call(example_row(inputs), {})
        link = replace(link, target_type=answered_type(target_type, values))
        save_link(artifact_dir, LINK_FILE, link.__dict__)
        return ModelSchema(inputs=inputs, outputs=((target, link.target_type),))

    def train(self, data: pa.Table, target: str, options: dict[str, Any], artifact_dir: Path,
              progress: ProgressFn) -> TrainingResult:
        """Post the rows to the application, then check that it predicts the first of them."""
        declared = options.get("dtype_dict") or {}
        kinds = {str(c).lower(): str(t) for c, t in declared.items()} if isinstance(declared, dict) else {}
        columns = {f.name: kinds.get(f.name.lower()) or dtype_of_arrow(f.type) for f in data.schema}
        inputs = tuple((c, t) for c, t in columns.items() if c != target)
        link = RayLink.from_options(target, options, inputs, columns[target])
        assert link.train_url is not None  # validate_data refused a CREATE without it
        progress(1, 2, "training at the endpoint")
        endpoint = link.endpoint(link.train_url, link.train_timeout)
        if link.is_parquet:
            body, content_type = _multipart({"df": _parquet(data)}, {"target": target,
                                            "args": json.dumps(application_args(target, options))})
        else:
            body = json.dumps({"df": json.dumps(json_records(data)), "target": target,
                               "args": application_args(target, options)}).encode()
            content_type = "application/json; format=pandas-records"
        status, answer = endpoint.post(body, content_type)
        if status // 100 != 2:
            raise endpoint.failed(status, answer)
        _check_trained(answer, link.train_url)
        progress(2, 2, "checking predictions")
        values = RayServeModel(link).call(data.select([c for c, _ in inputs]).slice(0, 1), {})
        link = replace(link, target_type=answered_type(link.target_type, values))
        save_link(artifact_dir, LINK_FILE, link.__dict__)
        return TrainingResult(input_columns=[c for c, _ in inputs], dtype_dict={**columns, target: link.target_type},
                              schema=ModelSchema(inputs=inputs, outputs=((target, link.target_type),)))

    def load(self, artifact_dir: Path, options: dict[str, Any]) -> RayServeModel:
        return RayServeModel(RayLink(**read_link(artifact_dir, LINK_FILE, options)))


def _check_route(url: str) -> None:
    """The URL's route exists: anything but 404 (a POST-only route answers GET with 405)."""
    endpoint = Endpoint(url, 10.0, engine="ray_serve")
    status, _, _ = endpoint.send("GET", b"", "application/json")
    if status == 404:
        raise ModelEndpointError(f"[ray_serve] nothing is served at {url} (HTTP 404): check the application's "
                                 "route prefix and paths")


def _check_trained(answer: bytes, url: str) -> None:
    """MindsDB's rule: an answer with a `status` must say ok; its text is the error otherwise."""
    try:
        value = json.loads(answer) if answer.strip() else {}
    except ValueError:
        return  # a plain-text 2xx answer: the application took the rows
    if isinstance(value, dict) and "status" in value and str(value["status"]).lower() != "ok":
        raise ModelEndpointError(f"[ray_serve] training at {url} failed: {value['status']}")


class RayServeModel:
    """A model served by a Ray Serve application: Arrow rows in, the target column out."""

    def __init__(self, link: RayLink):
        self.link = link
        self.input_columns = [c for c, _ in link.inputs]
        self.endpoint = link.endpoint(link.predict_url, link.timeout)

    def predict(self, request: PredictRequest) -> pa.Table:
        data, options = request.rows, request.options
        """Batches of batch_size rows, in_flight at once; other predict-time USING options are
        the application's `pred_args`."""
        size = _positive(options, "batch_size", self.link.batch_size, int)
        in_flight = _positive(options, "in_flight", self.link.in_flight, int)
        pred_args = {k: v for k, v in options.items() if k not in BATCHING_OPTIONS}
        values = in_batches(data, size, in_flight, lambda rows: self.call(rows, pred_args))
        return pa.table({self.link.target: column_of_predictions(values, self.link.target_type)})

    def call(self, rows: pa.Table, pred_args: dict[str, Any]) -> list[Any]:
        if self.link.is_parquet:
            body, content_type = _multipart({"df": _parquet(rows)}, {"pred_args": json.dumps(pred_args)})
        else:
            body = json.dumps({"df": json.dumps(json_records(rows)), "pred_args": pred_args}).encode()
            content_type = "application/json; format=pandas-records"
        status, answer, answer_type = self.endpoint.send("POST", body, content_type)
        if status // 100 != 2:
            raise self.endpoint.failed(status, answer)
        values = self._predictions(answer, answer_type)
        if len(values) != rows.num_rows:
            self.endpoint.errors += 1
            raise EndpointError(f"[ray_serve] {self.link.predict_url} returned {len(values)} predictions for "
                                f"{rows.num_rows} rows", status)
        return values

    def _predictions(self, answer: bytes, answer_type: str) -> list[Any]:
        """`{"prediction": [...]}` (or a dict of columns holding the target); a Parquet table."""
        target = self.link.target
        if answer_type.startswith(_PARQUET):
            try:
                table = pq.read_table(io.BytesIO(answer))
            except pa.ArrowException as error:
                raise ModelEndpointError(f"[ray_serve] {self.link.predict_url} answered octet-stream that is "
                                         f"not Parquet: {error}") from None
            name = next((c for c in table.column_names if c.lower() in (target.lower(), "prediction")),
                        table.column_names[0])
            return table.column(name).to_pylist()
        try:
            value = json.loads(answer)
        except ValueError:
            raise ModelEndpointError(f"[ray_serve] {self.link.predict_url} answered something that is not JSON: "
                                     f"{answer[:200]!r}") from None
        if isinstance(value, dict) and "prediction" in value:
            value = value["prediction"]
        if isinstance(value, dict):
            value = pick(value, target)
        if isinstance(value, list):
            return pick_target(value, target)
        raise ModelEndpointError(f"[ray_serve] {self.link.predict_url} answered {str(value)[:200]}: expected "
                                 "{\"prediction\": [one value per row]}")

    def describe(self, attribute: str | None) -> pa.Table:
        """DESCRIBE m lists ["info"]; DESCRIBE m.info shows the URLs, the schema and call counts."""
        if attribute is None:
            return pa.table({"tables": ["info"]})
        if attribute != "info":
            raise WrongArguments(f"[ray_serve] unknown describe attribute '{attribute}'; valid: ['info']")
        return pa.Table.from_pylist([{
            "train_url": self.link.train_url, "predict_url": self.link.predict_url,
            "format": "parquet" if self.link.is_parquet else "json", "inputs": json.dumps(self.link.inputs),
            "outputs": json.dumps([[self.link.target, self.link.target_type]]), "batch_size": self.link.batch_size,
            **self.endpoint.statistics()}])

    def close(self) -> None:
        """Kept-alive connections belong to threads and close with them."""


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _multipart(files: dict[str, bytes], fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body: the files as octet-stream parts, the fields as text parts."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                     f"Content-Type: {_PARQUET}\r\n\r\n".encode() + data + b"\r\n")
    for name, text in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
