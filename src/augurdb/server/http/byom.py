"""BYOM uploads over HTTP (MindsDB's routes): PUT /api/handlers/byom/<name> makes an ML engine from
Python code, POST /api/handlers/byom/<name> uploads its next version.

Multipart fields: `code` (the .py file), `modules` (requirements.txt, optional) and `type`
(`venv`, the default, or `inhouse`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from augurdb.errors import AugurError, InternalError, NotSupported, WrongArguments
from augurdb.instance import Instance
from augurdb.integrations.ml import byom_store

MAX_PART_BYTES = 16 * 1024**2


def register_byom_routes(app: FastAPI, instance: Instance) -> None:
    """Add the upload routes to the app serving `instance`."""

    @app.put("/api/handlers/byom/{name}", tags=["ml engines"])
    async def create_byom_engine(name: str, request: Request) -> JSONResponse:
        """Make the ML engine `name` (handler byom), version 1; 409 when the name is taken."""
        return await _stored(byom_store.create_engine, instance, name, await _upload(request))

    @app.post("/api/handlers/byom/{name}", tags=["ml engines"])
    async def add_byom_version(name: str, request: Request) -> JSONResponse:
        """Upload the next version of the engine `name`: {"last_engine_version": n, "engine_versions": [...]}."""
        return await _stored(byom_store.add_version, instance, name, await _upload(request))


async def _stored(store: Callable[..., dict[str, Any]], instance: Instance, name: str,
                  upload: byom_store.Upload) -> JSONResponse:
    # Checking the code starts a process: off the event loop.
    try:
        answer = await run_in_threadpool(store, instance.catalog, instance.artifacts.root, name, upload)
    except AugurError:
        raise
    except Exception as error:
        raise InternalError(f"{type(error).__name__}: {error}") from error
    return JSONResponse(answer)


async def _upload(request: Request) -> byom_store.Upload:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise WrongArguments("Send a multipart form: the code in a field named 'code', requirements.txt in 'modules'")
    form = await request.form(max_part_size=MAX_PART_BYTES)
    if form.get("mode") not in (None, ""):
        raise NotSupported(f"BYOM mode {form.get('mode')!r} is not supported: upload a class with train and predict")
    code = await _text(form.get("code"))
    if not code:
        raise WrongArguments("Send the model's Python code in a multipart field named 'code'")
    kind = form.get("type")
    return byom_store.Upload(code, (await _text(form.get("modules"))).decode("utf-8", "replace"),
                             str(kind) if kind else None)


async def _text(field: Any) -> bytes:
    """A form field's bytes, whether it came as a file or as a plain value."""
    if isinstance(field, UploadFile):
        return await field.read()
    return str(field).encode() if field else b""
