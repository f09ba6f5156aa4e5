"""SHOW PROCESSLIST, KILL [QUERY | CONNECTION] id and max_execution_time, as MySQL has them.

Every MySQL connection's session is listed while it lives. A statement can be stopped from
another connection (KILL QUERY) or by its own time limit (SET max_execution_time = ms, for
SELECTs as in MySQL): the statement's Interrupt is set, a DuckDB query in flight is interrupted
at once, and the planner's steps, prediction batches and streamed batches check it between them.
KILL CONNECTION also closes the connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from augurdb.errors import AugurError
from augurdb.executor.dispatch import run_statement
from augurdb.result import Result

if TYPE_CHECKING:
    from augurdb.session import Session


_INTERRUPT_EVERY_S, _INTERRUPT_FOR_S = 0.05, 600.0
_MAX_EXECUTION_TIME_MS = 4_294_967_295  # MySQL's largest; a larger value is that


class QueryInterrupted(AugurError):
    code = 1317  # ER_QUERY_INTERRUPTED
    sqlstate = "70100"


class QueryTimedOut(AugurError):
    code = 3024  # ER_QUERY_TIMEOUT
    sqlstate = "HY000"


class Interrupt:
    """One session's stop flag for its running statement."""

    def __init__(self) -> None:
        self._reason: AugurError | None = None
        self._cursors: set[duckdb.DuckDBPyConnection] = set()
        # Reentrant: a streamed result dropped in a reference cycle is closed by the garbage
        # collector, at any allocation, also inside this lock; its `watching` then takes it again.
        self._lock = threading.RLock()

    def stop(self, reason: AugurError) -> None:
        with self._lock:
            self._reason = reason
        threading.Thread(target=self._interrupt_until_released, name="interrupt", daemon=True).start()

    def _interrupt_until_released(self) -> None:
        """Interrupt the statement's DuckDB cursors until it lets them go: a query that starts just
        after an interrupt would not see it (DuckDB only interrupts a query already running)."""
        for _ in range(int(_INTERRUPT_FOR_S / _INTERRUPT_EVERY_S)):
            with self._lock:
                cursors = list(self._cursors) if self._reason is not None else []
            if not cursors:
                return
            for cursor in cursors:
                cursor.interrupt()
            time.sleep(_INTERRUPT_EVERY_S)

    def check(self) -> None:
        """Raise the reason the statement was stopped, if it was."""
        if self._reason is not None:
            raise self._reason

    def clear(self) -> None:
        """A new statement arrives: a stop meant for an earlier one no longer applies. Called before
        the statement shows in the process list, so that a KILL aimed at it is never lost."""
        with self._lock:
            self._reason = None

    @contextmanager
    def statement(self, timeout_ms: int) -> Iterator[Callable[[], Callable[[], None]]]:
        """While one statement runs: its time limit (0: none), and its stop told as MySQL tells it.
        Yields `outlive()`: a statement whose rows stream calls it to keep its time limit running
        after it returns, and gets the function that ends the limit when the last batch is sent."""
        timer = None
        if timeout_ms > 0:
            timer = threading.Timer(timeout_ms / 1000, self.stop, [QueryTimedOut(
                "Query execution was interrupted, maximum statement execution time exceeded")])
            timer.daemon = True
            timer.start()
        outlived = False

        def outlive() -> Callable[[], None]:
            nonlocal outlived
            outlived = True
            return timer.cancel if timer is not None else _nothing

        try:
            yield outlive
        except (duckdb.InterruptException, QueryInterrupted):
            self.check()  # the stop's own reason: a time limit, or KILL QUERY
            raise QueryInterrupted("Query execution was interrupted") from None
        finally:
            if timer is not None and not outlived:
                timer.cancel()
        # The flag stays set after the statement returns: a streamed result still being sent
        # stops at its next batch when KILL QUERY comes then.

    @contextmanager
    def watching(self, cursor: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor that a stop interrupts at once."""
        with self._lock:
            self._cursors.add(cursor)
        try:
            self.check()
            yield cursor
        finally:
            with self._lock:
                self._cursors.discard(cursor)


@dataclass
class Process:
    """One connection, as SHOW PROCESSLIST shows it."""

    id: int
    user: str
    host: str
    session: Session
    close: Callable[[], None]  # ends the connection (safe from any thread)
    connected: float = field(default_factory=time.time)
    info: str | None = None  # the running statement
    since: float = field(default_factory=time.time)


def _nothing() -> None:
    """No time limit to end."""


class ProcessList:
    def __init__(self) -> None:
        self._processes: dict[int, Process] = {}
        self._lock = threading.Lock()

    def add(self, process: Process) -> None:
        with self._lock:
            self._processes[process.id] = process

    def remove(self, process_id: int) -> None:
        with self._lock:
            self._processes.pop(process_id, None)

    def get(self, process_id: int) -> Process | None:
        with self._lock:
            return self._processes.get(process_id)

    def all(self) -> list[Process]:
        with self._lock:
            return sorted(self._processes.values(), key=lambda p: p.id)

    @contextmanager
    def running(self, session: Session, sql: str) -> Iterator[None]:
        """The session's process shows `sql` while it runs."""
        process = self.get(session.connection_id) if session.connection_id else None
        if process is None:
            yield
            return
        process.info, process.since = sql, time.time()
        try:
            yield
        finally:
            process.info, process.since = None, time.time()


def timeout_ms(session: Session, statement: exp.Expr | None) -> int:
    """max_execution_time (ms) applies to SELECTs only, as in MySQL."""
    if not isinstance(statement, exp.Query):
        return 0
    try:
        value = int(session.variables.get("max_execution_time") or 0)
    except (TypeError, ValueError, OverflowError):  # OverflowError: SET max_execution_time = 1e309
        return 0
    return min(max(0, value), _MAX_EXECUTION_TIME_MS)


def process_rows(processes: ProcessList, full: bool) -> list[dict[str, Any]]:
    """This process's connections as SHOW PROCESSLIST rows."""
    now = time.time()
    rows: list[dict[str, Any]] = []
    for process in processes.all():
        info = process.info if full or process.info is None else process.info[:100]
        rows.append({"Id": process.id, "User": process.user, "Host": process.host,
                     "db": process.session.database, "Command": "Query" if process.info else "Sleep",
                     "Time": int(now - process.since), "State": "executing" if process.info else "",
                     "Info": info})
    return rows


def kill_connection(processes: ProcessList, connection_id: int, query_only: bool) -> bool:
    """KILL [QUERY] a connection of this process; False when it has none with that id."""
    target = processes.get(connection_id)
    if target is None:
        return False
    target.session.interrupt.stop(QueryInterrupted("Query execution was interrupted"))
    if not query_only:
        target.close()
    return True


def processlist_table(session: Session, full: bool = False) -> pa.Table:
    """Every connection of the server: this process's, and with --processes the others'."""
    rows = process_rows(session.instance.processes, full)
    if session.instance.siblings is not None:
        rows = sorted(rows + session.instance.siblings.rows(full), key=lambda row: row["Id"])
    names = [("Id", pa.int64()), ("User", pa.string()), ("Host", pa.string()), ("db", pa.string()),
             ("Command", pa.string()), ("Time", pa.int64()), ("State", pa.string()), ("Info", pa.string())]
    return pa.table({n: pa.array([r[n] for r in rows], t) for n, t in names})


@run_statement.register(exp.Kill)
def _kill(statement: exp.Kill, session: Session) -> Result:
    try:
        target_id = int(statement.this.name)
    except ValueError:
        raise AugurError("KILL takes a connection id (see SHOW PROCESSLIST)", code=1064, sqlstate="42000") from None
    kind = statement.args.get("kind")
    query_only = kind is not None and kind.name.upper() == "QUERY"
    if kill_connection(session.instance.processes, target_id, query_only):
        return Result.ok()
    from augurdb.server.process_group import process_index, serving_process

    owner, siblings = serving_process(target_id), session.instance.siblings
    if siblings is not None and owner != process_index():
        found = siblings.kill(owner, target_id, query_only)
        if found is None:
            raise AugurError(f"KILL {target_id}: server process {owner}, which serves that connection, did not "
                             "answer; try again", code=1094)
        if found:
            return Result.ok()
    raise AugurError(f"Unknown thread id: {target_id}", code=1094)  # ER_NO_SUCH_THREAD
