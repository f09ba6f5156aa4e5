"""augurdb: an AI SQL server. Train models and get predictions with SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from augurdb.dbapi import Connection


def connect(data_dir: Any = "./augurdb_data", **settings: Any) -> Connection:
    """An embedded DB-API 2.0 connection that runs statements in this process."""
    from augurdb.dbapi import connect as _connect

    return _connect(data_dir, **settings)
