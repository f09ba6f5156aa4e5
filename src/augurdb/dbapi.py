"""The embedded API: a DB-API 2.0 connection that runs statements in this process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from augurdb import errors
from augurdb.config import Settings
from augurdb.instance import Instance
from augurdb.result import Result
from augurdb.sql.params import bind

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"

Error = errors.AugurError


class Cursor:
    """Runs statements and hands rows back as tuples, a pandas DataFrame or an Arrow table."""

    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self._table: pa.Table | None = None
        self._position = 0
        self.rowcount = -1
        self.description: list[tuple[Any, ...]] | None = None

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        if parameters:
            sql = bind(sql, list(parameters))
        result: Result = self.connection.session.execute(sql)
        self._table, self._position = result.table, 0
        if result.table is None:
            self.description, self.rowcount = None, result.affected_rows
        else:
            self.description = [(f.name, str(f.type), None, None, None, None, True) for f in result.table.schema]
            self.rowcount = result.table.num_rows
        return self

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]]) -> Cursor:
        for parameters in seq_of_parameters:
            self.execute(sql, parameters)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        table = self._require_rows()
        size = size or self.arraysize
        chunk = table.slice(self._position, size)
        self._position += chunk.num_rows
        return list(zip(*(c.to_pylist() for c in chunk.columns), strict=True)) if chunk.num_columns else []

    def fetchall(self) -> list[tuple[Any, ...]]:
        table = self._require_rows()
        return self.fetchmany(max(table.num_rows - self._position, 1))

    def fetch_arrow(self) -> pa.Table:
        table = self._require_rows().slice(self._position)
        self._position += table.num_rows
        return table

    def fetch_df(self) -> Any:
        return self.fetch_arrow().to_pandas()

    def _require_rows(self) -> pa.Table:
        if self._table is None:
            raise errors.AugurError("The last statement returned no rows")
        return self._table

    def close(self) -> None:
        self._table = None

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class Connection:
    """An in-process connection to the data directory's instance."""

    def __init__(self, instance: Instance, owns_instance: bool):
        self.instance = instance
        self._owns_instance = owns_instance
        self.session = instance.session()

    def cursor(self) -> Cursor:
        return Cursor(self)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        return self.cursor().execute(sql, parameters)

    def commit(self) -> None:
        """Statements take effect at once: nothing to commit."""

    def rollback(self) -> None:
        """Statements take effect at once: nothing to roll back."""

    def close(self) -> None:
        """Close the instance; a training this connection started is waited for first, since
        closing ends the training workers (a model would otherwise be left in `error`)."""
        if self._owns_instance:
            self.instance.jobs.join()
            self.instance.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(data_dir: str | Path = "./augurdb_data", **settings: Any) -> Connection:
    return Connection(Instance(Settings.from_env(data_dir=data_dir, **settings)), owns_instance=True)
