"""Session.execute(sql) -> Result: the single entry every protocol uses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import pyarrow as pa
from sqlglot import exp

from augurdb.catalog.records import FileRecord, ModelRecord
from augurdb.errors import AugurError, InternalError, ParseError
from augurdb.executor.dispatch import load_handlers, run_statement
from augurdb.executor.processes import Interrupt, Process, QueryInterrupted, timeout_ms
from augurdb.result import Result
from augurdb.sql.compat import default_variables
from augurdb.sql.duckdb_errors import as_mysql_error
from augurdb.sql.parser import parse

if TYPE_CHECKING:
    from augurdb.instance import Instance

log = logging.getLogger(__name__)
T = TypeVar("T")

load_handlers()
_A_SELECT = exp.Select()  # the plan cache answers SELECTs only


class Session:
    """One client's state: user, current database, variables, last warnings."""

    def __init__(self, instance: Instance, user: str = "augur", database: str = "mindsdb"):
        self.instance = instance
        self.user = user
        self.database = database
        self.variables: dict[str, Any] = default_variables()
        self.user_variables: dict[str, Any] = {}
        self.warnings: list[tuple[str, int, str]] = []
        self.connection_id = 0  # set by attach(): the MySQL connection this session serves
        self.tls: tuple[str, str] | None = None  # (protocol version, cipher) of a TLS connection
        self.interrupt = Interrupt()

    def attach(self, connection_id: int, host: str, close: Callable[[], None],
               tls: tuple[str, str] | None = None) -> None:
        """List this session's connection (SHOW PROCESSLIST) so that KILL can reach it."""
        self.connection_id, self.tls = connection_id, tls
        self.instance.processes.add(Process(connection_id, self.user, host, self, close))

    def execute(self, sql: str) -> Result:
        """Run one or more statements; the answer is the last one's. A streamed answer keeps
        the statement in the process list, and under its time limit, until its last batch is sent."""
        self.interrupt.clear()
        with ExitStack() as running:
            running.enter_context(self.instance.processes.running(self, sql))
            with self.interrupt.statement(timeout_ms(self, _A_SELECT)):
                prepared = self._guarded(sql, lambda: self.instance.plan_cache.execute(self, sql))
            if prepared is not None:  # a one-row prediction of a shape planned before
                self.warnings = []
                return prepared
            statements = parse(sql)
            if not statements:
                raise ParseError("Query was empty", code=1065)
            result = Result.ok()
            for statement in statements:
                result.close()  # an earlier statement's rows are not sent: only the last one's are
                with self.interrupt.statement(timeout_ms(self, statement)) as outlive:
                    result = self._guarded(sql, lambda: run_statement(statement, self))  # noqa: B023 (called at once)
                    if statement is statements[-1] and result.at_stream_end(outlive()):
                        result.at_stream_end(running.pop_all().close)
        if not _is_show_warnings(statements[-1]):
            self.warnings = list(result.warnings)
        return result

    def _guarded(self, sql: str, run: Callable[[], T]) -> T:
        try:
            return run()
        except AugurError:
            raise
        except duckdb.InterruptException:
            self.interrupt.check()
            raise QueryInterrupted("Query execution was interrupted") from None
        except duckdb.Error as error:  # DuckDB found the mistake on a path that did not translate it
            self.interrupt.check()
            raise as_mysql_error(error) from None
        except Exception as error:  # anything else is our bug: report it, keep serving
            self.interrupt.check()  # unless a stop surfaced as some library's error: report the stop
            log.exception("statement failed: %s", sql[:500])
            raise InternalError(f"Internal error: {type(error).__name__}: {error}") from error

    def predict(self, project: str, model: str, rows: pa.Table, options: dict[str, Any] | None = None) -> pa.Table:
        """Predictions of [project.]model[.version] for the given input rows, one output row each."""
        from augurdb.executor.predict import predict_rows

        return predict_rows(self, project, model, rows, options)

    def load_file(self, name: str, path: Path, source_format: str | None = None, *,
                  replace: bool = False, types: dict[str, str] | None = None) -> FileRecord:
        """Upload a file as files.<name> (HTTP's PUT /api/files, `augurdb load`); a name in use is
        error 1050 unless `replace`; `types` sets CSV columns' types ({"zip": "text"})."""
        return self.instance.files.load(name, path, source_format, replace=replace, types=types)

    def close(self) -> None:
        """The connection ended: it leaves the process list."""
        if self.connection_id:
            self.instance.processes.remove(self.connection_id)

    # --- helpers for the executors ---------------------------------------------

    def local_sql(self, sql: str) -> pa.Table:
        """Run SQL on the local engine (DuckDB) in a cursor of this call's own."""
        cursor = self.instance.duckdb.cursor()
        try:
            with self.interrupt.watching(cursor):
                return self.translate_errors(lambda: cursor.sql(sql).to_arrow_table())
        finally:
            cursor.close()

    @staticmethod
    def translate_errors(run: Callable[[], T]) -> T:
        """DuckDB's errors, told in MySQL's terms."""
        try:
            return run()
        except duckdb.InterruptException:
            raise QueryInterrupted("Query execution was interrupted") from None
        except duckdb.Error as error:
            raise as_mysql_error(error) from None

    def active_model(self, project: str, name: str) -> ModelRecord:
        """The active version of a model, by the planner's name rules (planner/snapshot.py)."""
        from augurdb.planner.snapshot import Snapshot

        return Snapshot.take(self).active_model(project, name)

    def model_version(self, project: str, name: str, version: str) -> ModelRecord:
        from augurdb.planner.snapshot import Snapshot

        return Snapshot.take(self).model_version(project, name, version)


def _is_show_warnings(statement: Any) -> bool:
    from sqlglot import exp

    return isinstance(statement, exp.Show) and statement.name.upper() in ("WARNINGS", "ERRORS")
