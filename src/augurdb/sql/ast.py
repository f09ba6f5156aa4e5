"""Typed nodes for the ML statements, declared the way sqlglot declares its own.

Plain SQL stays as sqlglot's own expressions; only what sqlglot has no node for is here.
Values that are not SQL (USING options, raw source queries) are kept as plain Python
values in the node's args.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp


class CreateModel(exp.Expression):
    """CREATE [OR REPLACE] MODEL|PREDICTOR [IF NOT EXISTS] name [FROM db (query)] PREDICT col ..."""

    arg_types = {
        "this": True,  # exp.Table: [project.]name
        "replace": False,
        "exists": False,
        "source": False,  # integration name or None (current project)
        "query": False,  # raw source query text
        "targets": True,  # list[str]
        "order_by": False,
        "group_by": False,
        "window": False,
        "horizon": False,
        "using": False,  # dict[str, Any]
    }


class Retrain(exp.Expression):
    """RETRAIN [MODEL] name [FROM db (query)] [PREDICT col] [USING ...]"""

    arg_types = {"this": True, "source": False, "query": False, "targets": False, "using": False}


class DropModel(exp.Expression):
    """DROP MODEL|PREDICTOR [IF EXISTS] [project.]name[.version]"""

    arg_types = {"this": True, "exists": False}


class SetActive(exp.Expression):
    """SET active [project.]name.version"""

    arg_types = {"this": True}


class CreateDatabase(exp.Expression):
    """CREATE PROJECT|DATABASE|SCHEMA [IF NOT EXISTS] name [WITH ENGINE = '...', PARAMETERS = {...}]

    Without an engine (or with CREATE PROJECT) this creates a project.
    """

    arg_types = {"this": True, "kind": True, "exists": False, "replace": False, "engine": False, "parameters": False}


class DropDatabase(exp.Expression):
    """DROP PROJECT|DATABASE|SCHEMA [IF EXISTS] name"""

    arg_types = {"this": True, "kind": True, "exists": False}


class DescribeModel(exp.Expression):
    """DESCRIBE [MODEL|PREDICTOR] name[.version][.attribute]: resolved against the catalog later."""

    arg_types = {"this": True, "parts": True}


def using_of(node: exp.Expression) -> dict[str, Any]:
    """The USING options attached to a statement (empty when there are none)."""
    return dict(node.args.get("using") or {})


class NativeQuery(exp.Expression):
    """`db (query)` in a FROM or JOIN: the query text in the linked database's own dialect."""

    arg_types = {"this": True, "query": True, "alias": False}  # this: exp.Identifier (the database)


class AlterDatabase(exp.Expression):
    """ALTER DATABASE name [WITH] [ENGINE = '...'] PARAMETERS = {...}: new connection parameters."""

    arg_types = {"this": True, "engine": False, "parameters": False}


class CreateMLEngine(exp.Expression):
    """CREATE [OR REPLACE] ML_ENGINE [IF NOT EXISTS] name FROM handler [USING k = v, ...]"""

    arg_types = {"this": True, "handler": True, "exists": False, "replace": False, "using": False}


class ExportModel(exp.Expression):
    """EXPORT MODEL|PREDICTOR [project.]name[.version] TO 'directory'"""

    arg_types = {"this": True, "path": True}


class DropMLEngine(exp.Expression):
    """DROP ML_ENGINE [IF EXISTS] name"""

    arg_types = {"this": True, "exists": False}
