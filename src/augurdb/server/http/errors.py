"""Every HTTP error in one shape: `{"type": "error", "error_code", "error_message", "context"}`.

Errors of the SQL layer carry their own MySQL code; a request FastAPI cannot read (no JSON
content type, a body that is not JSON, a missing field) is error 1210 with one sentence that
says what to send; an unknown route, a wrong method or a crash has the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from augurdb.errors import AugurError, InternalError, WrongArguments


def error_response(error: AugurError, context: dict[str, Any] | None = None,
                   status: int | None = None) -> JSONResponse:
    """The documented error body, with the error's HTTP status unless `status` is given."""
    body = {"type": "error", "error_code": error.code, "error_message": error.message,
            "context": context or {}}
    return JSONResponse(body, status_code=status or error.http_status)


def register_error_handlers(app: FastAPI) -> None:
    """Answer every error of `app` in the documented shape."""

    @app.exception_handler(AugurError)
    async def augur_error(request: Request, error: AugurError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(WrongArguments(validation_message(request, error.errors())))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        message = f"{error.detail}: {request.method} {request.url.path}"
        if error.status_code == 404:
            message += " (the API is under /api/, described at /docs)"
        return error_response(AugurError(message), status=error.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> JSONResponse:
        # Starlette raises the error again after this answer, so the server log has its traceback.
        return error_response(InternalError(f"Internal error: {type(error).__name__}: {error}"))


def validation_message(request: Request, errors: Sequence[Any]) -> str:
    """FastAPI's validation errors as one sentence saying what to send instead."""
    content_type = request.headers.get("content-type") or "none"
    problems = []
    for error in errors:
        where, *path = [str(part) for part in error.get("loc") or ("body",)]
        field, kind = ".".join(path), error.get("type")
        if where == "body" and kind == "json_invalid":
            return f"The request body is not valid JSON: {error.get('ctx', {}).get('error', 'it cannot be read')}"
        if where == "body" and not field:
            if "json" not in content_type:
                return ("Send the request body as a JSON object with the header 'Content-Type: application/json' "
                        f"(this request's content type: {content_type})")
            return "The request body is empty: send a JSON object" if kind == "missing" else \
                "The request body must be a JSON object"
        label = f"'{field}'" if where == "body" else f"{where} parameter '{field}'"
        problems.append(f"{label} is missing" if kind == "missing" else f"{label}: {error.get('msg')}")
    return "Invalid request: " + "; ".join(problems)
