"""Prepared plans for one-row predictions, keyed by the statement's shape.

`SELECT y, y_confidence FROM m WHERE a = 1 AND b = 'x'` arrives again and again with other
values. Parsing and planning it costs about a millisecond, more than the model's own predict of
one row, so the plan is kept under the statement's text with its literals taken out (its shape),
and the next statement of that shape runs the kept plan with its own values: no sqlglot, no
catalog snapshot, no DuckDB.

A shape is kept only when that is provably the same as planning it again: the statement is a
SELECT from one model whose only literals are the `column = literal` inputs of its WHERE
(checked against the parsed statement), the plan is one predict step and a projection, and the
literals are plain numbers or strings without backslashes (their values are read here exactly as
the parser reads them). A hit checks that the model's active version is still the one planned.
Anything else takes the ordinary path, and its shape is remembered as not worth trying again.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from augurdb.planner.steps import Plan, PredictStep
from augurdb.result import Result
from augurdb.sql.parser import number_value

if TYPE_CHECKING:
    from augurdb.session import Session

CAPACITY = 512
# A one-row prediction sets one literal per model input; a statement with more (an IN list of
# thousands of values) is no such prediction, and would be parsed twice for nothing.
MAX_LITERALS = 1000
# A backtick-quoted name (kept as it is), a string literal in single quotes ('' is a quote inside
# it), or a number standing alone.
_LITERAL = re.compile(r"`[^`]*`|'(?:[^'\\]|'')*'|(?<![\w.$])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w.$'])")
# What the shape reader does not handle: comments, backslashes, double quotes, other statements,
# placeholders; such statements always take the ordinary path.
_UNHANDLED = re.compile(r"--|#|/\*|\\|\"|;|\?")
_SELECT = re.compile(r"\s*select\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Prepared:
    step: PredictStep  # its constants are filled in per statement
    inputs: tuple[str, ...]  # the input column each literal sets, in the statement's order
    query: exp.Expr  # the projection over the step's output


_NOT_CACHEABLE = object()


class PlanCache:
    """Shape -> prepared plan (or a note that the shape is not cacheable), least recently used out."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # statements answered from a plan made for an earlier one

    def execute(self, session: Session, sql: str) -> Result | None:
        """The statement's result from a prepared plan; None when it must take the ordinary path."""
        shape = statement_shape(sql)
        if shape is None or len(shape[1]) > MAX_LITERALS:
            return None
        key = (session.database, shape[0])
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is _NOT_CACHEABLE:
            return None
        planned_now = entry is None
        if entry is None:
            entry = self._prepare(session, sql, shape[1])
            self._remember(key, entry)
            if entry is _NOT_CACHEABLE:
                return None
        assert isinstance(entry, _Prepared)
        result = self._run(session, entry, shape[1])
        with self._lock:
            if result is None:  # the model changed since: plan again next time
                self._entries.pop(key, None)
            elif not planned_now:
                self.hits += 1
        return result

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _remember(self, key: tuple[str, str], entry: object) -> None:
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def _prepare(self, session: Session, sql: str, values: list[Any]) -> object:
        """Plan the statement the ordinary way and keep the plan if its shape is provably reusable."""
        from augurdb.errors import AugurError
        from augurdb.planner.planner import plan_query
        from augurdb.planner.snapshot import Snapshot
        from augurdb.sql.compat import as_mysql_answers
        from augurdb.sql.parser import parse

        try:
            statements = parse(sql)
        except AugurError:
            return _NOT_CACHEABLE
        if len(statements) != 1 or not isinstance(statements[0], exp.Select):
            return _NOT_CACHEABLE
        statement = statements[0]
        if len(list(statement.find_all(exp.Literal))) != len(values):
            return _NOT_CACHEABLE  # a literal outside the WHERE inputs (LIMIT, a projection, a sign)
        try:
            plan = plan_query(Snapshot.take(session), as_mysql_answers(session, statement), copy=False)
        except AugurError:
            return _NOT_CACHEABLE  # the ordinary path reports the error
        return _prepared(plan, values)

    def _run(self, session: Session, entry: _Prepared, values: list[Any]) -> Result | None:
        from augurdb.executor.predict import run_predict
        from augurdb.executor.queries import simple_projection

        planned = entry.step.model
        current = [r for r in session.instance.catalog.models(project=planned.project, name=planned.name) if r.active]
        if len(current) != 1 or current[0].id != planned.id or current[0].status != "complete":
            return None
        step = replace(entry.step, model=current[0], constants=dict(zip(entry.inputs, values, strict=True)))
        table = simple_projection(entry.query, {step.output: run_predict(session, step, None)})
        assert table is not None  # _prepared checked that the query is a plain projection
        return Result.rows(table)


def _prepared(plan: Plan, values: list[Any]) -> object:
    if len(plan.steps) != 1 or not isinstance(plan.steps[0], PredictStep):
        return _NOT_CACHEABLE
    step = plan.steps[0]
    if step.input is not None or step.empty or not step.model.active or list(step.constants.values()) != values:
        return _NOT_CACHEABLE
    if not _is_projection(plan.query, step.output):
        return _NOT_CACHEABLE
    return _Prepared(step, tuple(step.constants), plan.query)


def _is_projection(query: exp.Expr, relation: str) -> bool:
    """`SELECT a, b AS c FROM <relation>`: what simple_projection answers without DuckDB."""
    if not isinstance(query, exp.Select) or {k for k, v in query.args.items() if v} != {"expressions", "from_"}:
        return False
    source = query.args["from_"].this
    if not isinstance(source, exp.Table) or source.name != relation:
        return False
    return all(isinstance(p.this if isinstance(p, exp.Alias) else p, exp.Column | exp.Star) for p in query.expressions)


def statement_shape(sql: str) -> tuple[str, list[Any]] | None:
    """The statement with its literals as `?`, and their values as the parser reads them; None
    for statements the cache leaves alone."""
    if not _SELECT.match(sql) or _UNHANDLED.search(sql.replace("''", "")):
        return None
    values: list[Any] = []

    def take(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("`"):
            return text
        values.append(_value(text))
        return "?"

    return _LITERAL.sub(take, sql).strip(), values


def _value(text: str) -> Any:
    """A literal's value, as sql.parser.literal_value gives it."""
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return number_value(text)
