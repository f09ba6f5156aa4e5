"""Models served by `mlflow models serve`, linked over REST (MindsDB's `format='mlflow'`).

    CREATE PREDICTOR m PREDICT target
    USING url.predict = 'http://127.0.0.1:5000/invocations', format = 'mlflow',
          dtype_dict = {"text": "rich text", "target": "binary"};

The inputs are dtype_dict's columns other than the target (only they are sent: no row ids,
no target); the output is the target. CREATE checks the endpoint with one row and picks the
request format the server takes: MLflow 2/3's `dataframe_split` (also `dataframe_records`,
`inputs`), or MLflow 1.x's `format=pandas-records`; `USING request_format=...` sets it, and
`parquet` sends the rows as Parquet (MLflow 3's `application/vnd.apache.parquet`: types kept exactly).
Predictions go in batches (`batch_size`, default 1,000) with several requests in flight.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from augurdb.errors import ModelCodeError, ModelEndpointError, WrongArguments
from augurdb.integrations.ml.base import (
    EngineCapabilities,
    ModelSchema,
    PredictRequest,
    ProgressFn,
    TrainingResult,
    refuse_unknown_options,
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
    example_row,
    read_link,
    save_link,
)

FORMATS = ("dataframe_split", "dataframe_records", "inputs", "pandas-records", "parquet")
# MindsDB's newer spelling also names the model in an MLflow registry (model_name,
# mlflow_server_url, mlflow_server_path); they are accepted, and the served URL is what is called.
REGISTRY_OPTIONS = {"model_name", "mlflow_server_url", "mlflow_server_path"}
OPTIONS = {"url.predict", "predict_url", "format", "dtype_dict", "request_format", "batch_size", "timeout",
           "in_flight", "api_token", "engine", "tag", *REGISTRY_OPTIONS}
LOCAL_OPTIONS = {"model_uri", "dtype_dict", "batch_size", "engine", "tag"}
LINK_FILE = "mlflow_link.json"


@dataclass(frozen=True)
class Link:
    """What a linked MLflow model needs to be called."""

    url: str
    target: str
    inputs: tuple[tuple[str, str], ...]
    target_type: str
    request_format: str = "dataframe_split"
    batch_size: int = 1000
    timeout: float = 30.0
    in_flight: int = 4
    api_token: str | None = None  # sent as `Authorization: Bearer ...` (a served model behind auth)

    @classmethod
    def from_options(cls, target: str, options: dict[str, Any]) -> Link:
        refuse_unknown_options("mlflow", options, OPTIONS)
        url = options.get("url.predict") or options.get("predict_url")
        if not url or urlsplit(str(url)).scheme not in ("http", "https"):
            raise WrongArguments("[mlflow] give the model's URL: USING url.predict = 'http://host:port/invocations'")
        inputs, target_type = declared_columns(target, options, "mlflow")
        request_format = str(options.get("request_format") or "dataframe_split")
        if request_format not in FORMATS:
            raise WrongArguments(f"[mlflow] request_format must be one of {', '.join(FORMATS)}")
        token = options.get("api_token")
        return cls(str(url), target, inputs, target_type, request_format,
                   _positive(options, "batch_size", 1000, int), _positive(options, "timeout", 30.0, float),
                   _positive(options, "in_flight", 4, int), str(token) if token else None)


def _positive(options: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    return positive_option(options, key, default, kind, "mlflow")


class MLflowRestEngine:
    """Links a model served by MLflow's scoring server; predicts by calling it."""

    name = "mlflow"
    capabilities = EngineCapabilities(needs_training_data=False, trains_in_worker=False, predicts="remote")

    def validate(self, target: str, options: dict[str, Any]) -> None:
        if "model_uri" in options:
            _local_link(target, options)
        else:
            Link.from_options(target, options)

    def validate_data(self, data: pa.Table, target: str, options: dict[str, Any]) -> None:
        """Linked models learn nothing here: training data, if given, is not used."""

    def train(self, data: pa.Table, target: str, options: dict[str, Any], artifact_dir: Path,
              progress: ProgressFn) -> TrainingResult:
        raise WrongArguments("[mlflow] a served model is trained where it is served: CREATE links it, "
                             "RETRAIN checks the link again")

    def link(self, target: str, options: dict[str, Any], artifact_dir: Path) -> ModelSchema:
        if "model_uri" in options:
            return _link_local(target, options, artifact_dir)
        link = Link.from_options(target, options)
        link = _with_working_format(link, "request_format" not in options)
        save_link(artifact_dir, LINK_FILE, link.__dict__)
        return ModelSchema(inputs=link.inputs, outputs=((target, link.target_type),))

    def load(self, artifact_dir: Path, options: dict[str, Any]) -> Any:
        values = read_link(artifact_dir, LINK_FILE, options)
        if "model_uri" in values:
            from augurdb.integrations.ml.mlflow_local import LocalLink, LocalPyfuncModel

            return LocalPyfuncModel(LocalLink(**values))
        return MLflowModel(Link(**values))




def _local_link(target: str, options: dict[str, Any]) -> Any:
    from augurdb.integrations.ml.mlflow_local import LocalLink, checked_uri

    refuse_unknown_options("mlflow", options, LOCAL_OPTIONS, " with model_uri")
    inputs, target_type = declared_columns(target, options, "mlflow")
    return LocalLink(checked_uri(str(options["model_uri"])), target, inputs, target_type,
                     _positive(options, "batch_size", 10_000, int))


def _link_local(target: str, options: dict[str, Any], artifact_dir: Path) -> ModelSchema:
    """A model loaded from a path: checked by loading it in a worker and predicting one row."""
    from augurdb.integrations.ml.mlflow_local import LocalPyfuncModel

    link = _local_link(target, options)
    model = LocalPyfuncModel(link)
    example = example_row(link.inputs)
    try:
        answer = model.predict(PredictRequest(example))
        link = replace(link, target_type=answered_type(link.target_type, answer.column(0).to_pylist()))
    except ModelCodeError as error:
        raise WrongArguments(f"[mlflow] the model at {link.model_uri} does not predict from the columns "
                             f"{', '.join(c for c, _ in link.inputs)}: {error.message}") from None
    finally:
        model.close()
    save_link(artifact_dir, LINK_FILE, link.__dict__)
    return ModelSchema(inputs=link.inputs, outputs=((target, link.target_type),))


def _with_working_format(link: Link, probe: bool) -> Link:
    """The link with a request format the server answers, and the output type its answer has;
    one example row is sent."""
    example = example_row(link.inputs)
    tried = [link.request_format] + ([f for f in FORMATS if f != link.request_format] if probe else [])
    errors = []
    for request_format in tried:
        candidate = replace(link, request_format=request_format)
        try:
            values = MLflowModel(candidate).call(example)
            return replace(candidate, target_type=answered_type(link.target_type, values))
        except EndpointError as error:
            if error.status not in (400, 415):  # None: nothing answers there, no format will help
                raise
            errors.append(f"{request_format}: {error.message}")
    if any("missing inputs" in e.lower() or "schema" in e.lower() for e in errors):
        raise WrongArguments(f"[mlflow] the model at {link.url} does not take the columns "
                             f"{', '.join(c for c, _ in link.inputs)}: {errors[0]}")
    raise ModelEndpointError(f"[mlflow] the model at {link.url} accepts none of the request formats "
                             f"{', '.join(tried)}: " + " | ".join(errors))




class MLflowModel:
    """A linked MLflow model: Arrow rows in, the target column out."""

    def __init__(self, link: Link):
        self.link = link
        self.input_columns = [c for c, _ in link.inputs]
        headers = {"Authorization": f"Bearer {link.api_token}"} if link.api_token else {}
        self.endpoint = Endpoint(link.url, link.timeout, headers, engine="mlflow")

    def predict(self, request: PredictRequest) -> pa.Table:
        data, options = request.rows, request.options
        """Batches of batch_size rows, in_flight requests at once (both also predict-time USING)."""
        size = _positive(options, "batch_size", self.link.batch_size, int)
        in_flight = _positive(options, "in_flight", self.link.in_flight, int)
        values = in_batches(data, size, in_flight, self.call)
        return pa.table({self.link.target: column_of_predictions(values, self.link.target_type)})

    def close(self) -> None:
        """Kept-alive connections belong to threads and close with them."""

    def describe(self, attribute: str | None) -> pa.Table:
        """DESCRIBE m lists ["info"]; DESCRIBE m.info shows the endpoint, format, schema and call counts."""
        if attribute is None:
            return pa.table({"tables": ["info"]})
        if attribute != "info":
            raise WrongArguments(f"[mlflow] unknown describe attribute '{attribute}'; valid: ['info']")
        rows = {"url": self.link.url, "request_format": self.link.request_format,
                "inputs": json.dumps(self.link.inputs), "outputs": json.dumps([[self.link.target, self.link.target_type]]),
                "batch_size": self.link.batch_size, **self.endpoint.statistics()}
        return pa.Table.from_pylist([rows])

    def call(self, rows: pa.Table) -> list[Any]:
        """One request for these rows; the predictions in row order."""
        status, answer = self.endpoint.post(*_request(rows, self.link.request_format))
        if status != 200:
            raise self.endpoint.failed(status, answer)
        values = _predictions(answer, self.link.target)
        if len(values) != rows.num_rows:
            self.endpoint.errors += 1
            raise EndpointError(f"[mlflow] the model at {self.link.url} returned {len(values)} predictions "
                                f"for {rows.num_rows} rows", status)
        return values


def _request(rows: pa.Table, request_format: str) -> tuple[bytes, str]:
    if request_format == "parquet":
        sink = io.BytesIO()
        pq.write_table(rows, sink)
        return sink.getvalue(), "application/vnd.apache.parquet"
    records = json_records(rows)
    columns = rows.column_names
    if request_format == "pandas-records":  # MLflow 1.x
        return json.dumps(records).encode(), "application/json; format=pandas-records"
    if request_format == "dataframe_records":
        payload: dict[str, Any] = {"dataframe_records": records}
    elif request_format == "inputs":
        payload = {"inputs": {c: [r[c] for r in records] for c in columns}}
    else:
        payload = {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in records]}}
    return json.dumps(payload).encode(), "application/json"




def _predictions(answer: bytes, target: str) -> list[Any]:
    """MLflow's answer shapes: {"predictions": ...} or a bare value; a list of scalars, a list of
    one-key (or target-keyed) dicts, or a dict of columns."""
    try:
        value = json.loads(answer)
    except ValueError:
        raise ModelEndpointError(f"[mlflow] the model answered something that is not JSON: {answer[:200]!r}") from None
    if isinstance(value, dict) and "predictions" in value:
        value = value["predictions"]
    if isinstance(value, dict):
        value = pick(value, target)
    if isinstance(value, list):
        return pick_target(value, target)
    raise ModelEndpointError(f"[mlflow] unexpected answer shape: {str(value)[:200]}")







