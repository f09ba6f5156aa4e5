"""Errors that reach the client: each carries a MySQL error number and SQLSTATE.

Every protocol (MySQL wire, HTTP, the embedded DB-API) reports these the same way,
so one message text is seen by every client.
"""

from __future__ import annotations


class AugurError(Exception):
    """Base for every error meant for the client."""

    code = 1105  # ER_UNKNOWN_ERROR
    sqlstate = "HY000"
    http_status = 400

    def __init__(self, message: str, *, code: int | None = None, sqlstate: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if sqlstate is not None:
            self.sqlstate = sqlstate


class ParseError(AugurError):
    """SQL text that does not parse (ER_PARSE_ERROR)."""

    code = 1064
    sqlstate = "42000"


class UnknownDatabase(AugurError):
    code = 1049
    sqlstate = "42000"
    http_status = 404


class UnknownTable(AugurError):
    code = 1146
    sqlstate = "42S02"
    http_status = 404


class UnknownColumn(AugurError):
    code = 1054
    sqlstate = "42S22"


class UnknownVariable(AugurError):
    code = 1193
    sqlstate = "HY000"


class AlreadyExists(AugurError):
    """Creating an object whose name is taken (ER_TABLE_EXISTS_ERROR / ER_DB_CREATE_EXISTS)."""

    code = 1050
    sqlstate = "42S01"
    http_status = 409


class NotSupported(AugurError):
    code = 1235  # ER_NOT_SUPPORTED_YET
    sqlstate = "42000"


class AccessDenied(AugurError):
    code = 1045
    sqlstate = "28000"
    http_status = 401


class WrongArguments(AugurError):
    """A statement with values that make no sense (ER_WRONG_ARGUMENTS)."""

    code = 1210
    sqlstate = "HY000"


class OutsideExportDir(AugurError):
    """A server-side write outside the export directory (MySQL's secure_file_priv refusal)."""

    code = 1290  # ER_OPTION_PREVENTS_STATEMENT
    sqlstate = "HY000"
    http_status = 403


class ModelNotReady(AugurError):
    """Predicting with a model that is still training or ended in error."""

    code = 1105
    sqlstate = "HY000"
    http_status = 409


class ModelCodeError(AugurError):
    """A user's model code raised (an MLflow pyfunc model, uploaded BYOM code): its own traceback
    is the message."""

    code = 1105
    sqlstate = "HY000"


class ModelEndpointError(AugurError):
    """A model served elsewhere failed: unreachable, or it answered with an error (URL and status named)."""

    code = 1105
    sqlstate = "HY000"
    http_status = 502


class InternalError(AugurError):
    """An unexpected failure; the message says what failed, the server stays up."""

    code = 1105
    sqlstate = "HY000"
    http_status = 500


class CatalogError(AugurError):
    """The catalog cannot be opened or used as asked: made by a newer release, unreachable
    (a PostgreSQL catalog that is down), or shared in a way this process may not write."""

    code = 1105
    sqlstate = "HY000"
    http_status = 503
