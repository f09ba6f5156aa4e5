"""Any JSON endpoint as a model (`USING engine = 'http'`).

    CREATE MODEL m PREDICT score
    USING engine = 'http', url = 'http://host:8080/score',
          dtype_dict = {"text": "text", "score": "float"},
          request_template = '{"instances": {{rows}}}', response_path = 'result.scores';

The request body is the template with `{{rows}}` replaced by the batch as a JSON list of row
objects, or `{{columns}}` by an object of column lists (default template: `{{rows}}`). The
answer's predictions are found at `response_path` (dotted keys, default: the whole answer): a
list of values, or of objects holding the target. `headers` (a JSON object) are sent with each
request. Only the declared inputs are sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from augurdb.errors import WrongArguments
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

OPTIONS = {"url", "dtype_dict", "request_template", "response_path", "headers", "batch_size", "in_flight",
           "timeout", "engine", "tag"}
LINK_FILE = "http_link.json"
_PLACEHOLDERS = ("{{rows}}", "{{columns}}")


@dataclass(frozen=True)
class HttpLink:
    """How to call the endpoint and read its answer."""

    url: str
    target: str
    inputs: tuple[tuple[str, str], ...]
    target_type: str
    request_template: str = "{{rows}}"
    response_path: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    batch_size: int = 1000
    in_flight: int = 4
    timeout: float = 30.0

    @classmethod
    def from_options(cls, target: str, options: dict[str, Any]) -> HttpLink:
        refuse_unknown_options("http", options, OPTIONS)
        url = str(options.get("url") or "")
        if urlsplit(url).scheme not in ("http", "https"):
            raise WrongArguments("[http] give the endpoint: USING url = 'http://host:port/path'")
        inputs, target_type = declared_columns(target, options, "http")
        template = str(options.get("request_template") or "{{rows}}")
        if not any(p in template for p in _PLACEHOLDERS):
            raise WrongArguments("[http] request_template must contain {{rows}} or {{columns}} where the batch goes")
        headers = options.get("headers") or {}
        if not isinstance(headers, dict):
            raise WrongArguments("[http] headers must be a JSON object: {\"Authorization\": \"Bearer ...\"}")
        path = tuple(p for p in str(options.get("response_path") or "").split(".") if p)
        return cls(url, target, inputs, target_type, template, path, {str(k): str(v) for k, v in headers.items()},
                   _positive(options, "batch_size", 1000, int), _positive(options, "in_flight", 4, int),
                   _positive(options, "timeout", 30.0, float))


def _positive(options: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    return positive_option(options, key, default, kind, "http")


class HttpEngine:
    """Links a model behind any JSON endpoint; predicts by calling it."""

    name = "http"
    capabilities = EngineCapabilities(needs_training_data=False, trains_in_worker=False, predicts="remote")

    def validate(self, target: str, options: dict[str, Any]) -> None:
        HttpLink.from_options(target, options)

    def validate_data(self, data: pa.Table, target: str, options: dict[str, Any]) -> None:
        """A linked model learns nothing here."""

    def train(self, data: pa.Table, target: str, options: dict[str, Any], artifact_dir: Path,
              progress: ProgressFn) -> TrainingResult:
        raise WrongArguments("[http] a model behind an endpoint is trained where it is served")

    def link(self, target: str, options: dict[str, Any], artifact_dir: Path) -> ModelSchema:
        """Call the endpoint with one example row before anything is stored."""
        link = HttpLink.from_options(target, options)
        example = example_row(link.inputs)
        link = replace(link, target_type=answered_type(link.target_type, HttpModel(link).call(example)))
        save_link(artifact_dir, LINK_FILE, link.__dict__)
        return ModelSchema(inputs=link.inputs, outputs=((target, link.target_type),))

    def load(self, artifact_dir: Path, options: dict[str, Any]) -> HttpModel:
        values = read_link(artifact_dir, LINK_FILE, options)
        values["response_path"] = tuple(values["response_path"])
        return HttpModel(HttpLink(**values))




class HttpModel:
    """A model behind a JSON endpoint."""

    def __init__(self, link: HttpLink):
        self.link = link
        self.input_columns = [c for c, _ in link.inputs]
        self.endpoint = Endpoint(link.url, link.timeout, link.headers, engine="http")

    def predict(self, request: PredictRequest) -> pa.Table:
        data, options = request.rows, request.options
        size = _positive(options, "batch_size", self.link.batch_size, int)
        in_flight = _positive(options, "in_flight", self.link.in_flight, int)
        values = in_batches(data, size, in_flight, self.call)
        return pa.table({self.link.target: column_of_predictions(values, self.link.target_type)})

    def call(self, rows: pa.Table) -> list[Any]:
        status, answer = self.endpoint.post(self._body(rows), "application/json")
        if status // 100 != 2:
            raise self.endpoint.failed(status, answer)
        try:
            value: Any = json.loads(answer)
            for key in self.link.response_path:
                value = value[int(key)] if isinstance(value, list) else value[key]
        except (ValueError, KeyError, IndexError, TypeError):
            self.endpoint.errors += 1
            raise EndpointError(f"[http] the answer of {self.link.url} has no predictions at "
                                f"'{'.'.join(self.link.response_path) or '(the whole answer)'}': "
                                f"{answer[:200].decode('utf-8', 'replace')}", status) from None
        if not isinstance(value, list) or len(value) != rows.num_rows:
            self.endpoint.errors += 1
            raise EndpointError(f"[http] {self.link.url} answered {str(value)[:100]} for {rows.num_rows} rows: "
                                "expected a list with one prediction per row", status)
        return pick_target(value, self.link.target)

    def _body(self, rows: pa.Table) -> bytes:
        records = json_records(rows)
        batch = {"{{rows}}": json.dumps(records),
                 "{{columns}}": json.dumps({c: [r[c] for r in records] for c in rows.column_names})}
        body = self.link.request_template
        for placeholder, value in batch.items():
            body = body.replace(placeholder, value)
        return body.encode()

    def describe(self, attribute: str | None) -> pa.Table:
        if attribute is None:
            return pa.table({"tables": ["info"]})
        if attribute != "info":
            raise WrongArguments(f"[http] unknown describe attribute '{attribute}'; valid: ['info']")
        return pa.Table.from_pylist([{"url": self.link.url, "request_template": self.link.request_template,
                                      "response_path": ".".join(self.link.response_path),
                                      "inputs": json.dumps(self.link.inputs), "target": self.link.target,
                                      **self.endpoint.statistics()}])

    def close(self) -> None:
        """Kept-alive connections belong to threads and close with them."""
