"""The HTTP API: MindsDB's /api/sql/query and friends, plus Arrow and Parquet results.

OpenAPI documentation is served at /docs (Swagger UI, no internet needed) and /openapi.json.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from augurdb import __version__
from augurdb.errors import AccessDenied, AugurError, InternalError, WrongArguments
from augurdb.executor.system_tables import model_row
from augurdb.instance import DEFAULT_PROJECT, Instance
from augurdb.integrations.data.csv_types import parse_types
from augurdb.planner.snapshot import Snapshot
from augurdb.server.http import encoding
from augurdb.server.http.byom import register_byom_routes
from augurdb.server.http.docs import register_docs
from augurdb.server.http.errors import error_response, register_error_handlers

MAX_UPLOAD_BYTES = 2 * 1024**3


class QueryContext(BaseModel):
    db: str = "mindsdb"
    model_config = {"extra": "allow"}


class QueryRequest(BaseModel):
    query: str = Field(description="One or more SQL statements; the answer is the last one's")
    context: QueryContext = Field(default_factory=QueryContext)
    response_format: str | None = Field(
        default=None, description="null (JSON), 'jsonlines' (a header line, then one JSON array per row), "
                                  "'arrow' (Arrow IPC stream) or 'parquet'")


class PredictRequest(BaseModel):
    data: list[dict[str, Any]] | str = Field(description="Input rows, as a list of objects (or its JSON text)")
    params: dict[str, Any] = Field(default_factory=dict, description="Predict-time options, as USING")


def create_app(instance: Instance) -> FastAPI:
    """The ASGI app serving one instance."""
    app = FastAPI(title="augurdb", version=__version__, docs_url=None, redoc_url=None,
                  description="AI SQL server: SQL over files and models, trained and queried with SQL.")
    register_error_handlers(app)
    register_docs(app)
    settings = instance.settings

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if settings.auth_required and request.url.path.startswith("/api/") and \
                request.url.path not in ("/api/util/ping",):
            throttle, host = instance.login_throttle, request.client.host if request.client else "unknown"
            delay = throttle.delay_for(host)
            if delay:
                await asyncio.sleep(delay)
            if not _authorized(request, settings):
                if _basic_credentials(request) is not None:  # a wrong guess; no header at all is none
                    throttle.failed(host)
                return error_response(AccessDenied("Access denied: HTTP basic authentication required"))
            throttle.succeeded(host)
        return await call_next(request)

    @app.get("/api/status", tags=["server"])
    def status() -> dict[str, Any]:
        return {"augurdb_version": __version__, "mindsdb_version": __version__, "environment": "local",
                "auth": {"http_auth_enabled": settings.auth_required}}

    @app.get("/api/util/ping", tags=["server"])
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/sql/query", tags=["sql"])
    def query(body: QueryRequest, request: Request) -> Response:
        context = body.context.model_dump()
        session = instance.session(user=_user(request, settings), database=body.context.db)
        try:
            result = session.execute(body.query)
        except AugurError as error:
            return error_response(error, context)
        context["db"] = session.database
        if not result.has_rows:
            return JSONResponse({"type": "ok", "affected_rows": result.affected_rows, "context": context})
        if body.response_format == "arrow" and result.schema is not None:
            return StreamingResponse(encoding.arrow_ipc_stream(result.schema, result.batches()),
                                     media_type=encoding.ARROW_MEDIA_TYPE)
        if body.response_format == "jsonlines" and result.schema is not None:
            return StreamingResponse(encoding.json_lines(result.schema, result.batches()),
                                     media_type="application/jsonlines")
        return _table_response(result.table, body.response_format, context)

    @app.put("/api/files/{name}", tags=["files"])
    async def upload_file(name: str, request: Request) -> Response:
        """Upload a file as files.<name>; a name in use is an error (409) unless replace=true
        (a form field or a query parameter)."""
        with tempfile.TemporaryDirectory(dir=instance.data_dir) as tmp:
            path, fmt, replace, types = await _receive_upload(request, Path(tmp), name)
            session = instance.session(user="augur", database=DEFAULT_PROJECT)
            record = await _in_thread(partial(session.load_file, replace=replace, types=parse_types(types)),
                                      name, path, fmt)
        return JSONResponse({"name": record.name, "row_count": record.row_count, "columns": record.columns})

    @app.get("/api/files", tags=["files"])
    @app.get("/api/files/", tags=["files"], include_in_schema=False)
    def list_files() -> list[dict[str, Any]]:
        return [{"name": f.name, "row_count": f.row_count, "columns": [c["name"] for c in f.columns]}
                for f in instance.catalog.files()]

    @app.delete("/api/files/{name}", tags=["files"])
    def delete_file(name: str) -> dict[str, str]:
        instance.files.drop_table(name)
        return {"status": "ok"}

    @app.get("/api/projects", tags=["projects"])
    def projects() -> list[dict[str, str]]:
        return [{"name": p} for p in instance.catalog.projects()]

    @app.get("/api/projects/{project}/models", tags=["models"])
    def models(project: str) -> list[dict[str, Any]]:
        project = Snapshot.take(instance.session(database=DEFAULT_PROJECT)).resolve_database(project)
        return [_model_json(r) for r in instance.catalog.models(project=project)]

    @app.get("/api/projects/{project}/models/{name}", tags=["models"])
    def model(project: str, name: str) -> dict[str, Any]:
        return _model_json(_model_record(instance, project, name))

    @app.post("/api/projects/{project}/models/{name}/predict", tags=["models"])
    def predict(project: str, name: str, body: PredictRequest) -> Response:
        import json

        try:
            data = json.loads(body.data) if isinstance(body.data, str) else body.data
        except ValueError as error:
            raise WrongArguments(f"'data' is text that is not JSON ({error}): send a list of input rows") from None
        if not isinstance(data, list) or not data or not all(isinstance(row, dict) for row in data):
            raise WrongArguments("'data' must be a non-empty list of input rows (JSON objects)")
        session = instance.session(user="augur", database=project)
        return JSONResponse(encoding.records(session.predict(project, name, pa.Table.from_pylist(data), body.params)))

    @app.get("/api/projects/{project}/models/{name}/export", tags=["models"])
    def export(project: str, name: str) -> Response:
        """The model (name[.version]) as an MLflow pyfunc model directory, zipped: unzipped,
        `mlflow models serve -m DIR --env-manager local` serves it with augurdb's predictions."""
        from augurdb.executor.export import export_model

        record = _model_record(instance, project, name)
        staging = Path(tempfile.mkdtemp(prefix="export-", dir=instance.data_dir))
        try:
            export_model(instance.session(user="augur", database=project), record, staging / "model")
            archive = shutil.make_archive(str(staging / record.name), "zip", staging / "model")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return FileResponse(archive, media_type="application/zip", filename=f"{record.name}-v{record.version}.zip",
                            background=BackgroundTask(shutil.rmtree, staging, ignore_errors=True))

    register_byom_routes(app, instance)
    return app


def _model_record(instance: Instance, project: str, name: str) -> Any:
    """name[.version] in a project, by the rules a SELECT resolves it with."""
    snapshot = Snapshot.take(instance.session(database=DEFAULT_PROJECT))
    project = snapshot.resolve_database(project)
    base, _, version = name.partition(".")
    return snapshot.model_version(project, base, version) if version else snapshot.active_model(project, base)


def _model_json(record: Any) -> dict[str, Any]:
    row = model_row(record)
    return {k.lower(): encoding.json_value(v) for k, v in row.items()}


def _table_response(table: pa.Table, fmt: str | None, context: dict[str, Any]) -> Response:
    if fmt in (None, "", "json"):
        payload = {"type": "table", "column_names": table.column_names, "data": encoding.rows(table),
                   "context": context}
        return Response(encoding.dumps(payload), media_type="application/json")
    if fmt == "parquet":
        return Response(encoding.parquet(table), media_type=encoding.PARQUET_MEDIA_TYPE)
    return error_response(WrongArguments(f"Unknown response_format {fmt!r}: use json, jsonlines, arrow or parquet"))


async def _receive_upload(request: Request, directory: Path,
                          name: str) -> tuple[Path, str | None, bool, str | None]:
    """The uploaded file on disk, its format, whether it may replace a file of the same name and
    the column types set (`col=type,...`), from a multipart form or a raw body."""
    content_type = request.headers.get("content-type", "")
    replace = _flag(request.query_params.get("replace"))
    types = request.query_params.get("types")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise WrongArguments("Send the file in a multipart field named 'file'")
        original = str(form.get("original_file_name") or getattr(upload, "filename", "") or name)
        path = directory / Path(original).name
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)  # type: ignore[union-attr]
        given = form.get("types")
        return path, None, replace or _flag(form.get("replace")), given if isinstance(given, str) else types
    path = directory / name
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise WrongArguments("The upload is larger than 2 GB")
            out.write(chunk)
    return path, request.query_params.get("format"), replace, types


def _flag(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "yes")


async def _in_thread(function: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    try:
        return await run_in_threadpool(function, *args)
    except AugurError:
        raise
    except Exception as error:
        raise InternalError(f"{type(error).__name__}: {error}") from error


def _user(request: Request, settings: Any) -> str:
    credentials = _basic_credentials(request)
    return credentials[0] if credentials else (settings.user or "augur")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _authorized(request: Request, settings: Any) -> bool:
    credentials = _basic_credentials(request)
    if credentials is None:
        return False
    user, password = credentials
    return secrets.compare_digest(user, settings.user or "") and secrets.compare_digest(
        password, settings.password or "")
