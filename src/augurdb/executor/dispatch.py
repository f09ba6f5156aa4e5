"""Statement dispatch: one handler per statement type, registered by the executor modules."""

from __future__ import annotations

from functools import singledispatch
from typing import TYPE_CHECKING

from sqlglot import exp

from augurdb.errors import NotSupported
from augurdb.result import Result

if TYPE_CHECKING:
    from augurdb.session import Session


@singledispatch
def run_statement(statement: exp.Expr, session: Session) -> Result:
    """Run one parsed statement; each statement type registers its own handler."""
    raise NotSupported(f"This statement is not supported: {statement.sql('mysql')[:200]}")


def load_handlers() -> None:
    """Import the modules whose handlers register with run_statement."""
    from augurdb.executor import (  # noqa: F401
        client_statements,
        ddl,
        export,
        ml_engines,
        models,
        processes,
        queries,
        writes,
    )
