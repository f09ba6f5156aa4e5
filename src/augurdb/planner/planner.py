"""Turn a bound SELECT into a Plan: fetch and predict steps, then one DuckDB query."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from augurdb.errors import NotSupported
from augurdb.executor.system_tables import model_columns
from augurdb.planner.binder import Bound, FileTable, ModelTable, SystemTable, bind_table, cte_names
from augurdb.planner.model_join import single_row_inputs, split_join
from augurdb.planner.steps import FetchStep, MaterializeStep, Plan, PredictStep, Step

if TYPE_CHECKING:
    from augurdb.session import Session

_PREFIX = "__augur_"


class _Planning:
    """State of planning one statement: its steps and fresh relation names."""

    def __init__(self, session: Session, query: exp.Expr):
        self.session = session
        self.ctes = cte_names(query)
        self.cte_bodies = {cte.alias_or_name.lower(): cte.this for cte in query.find_all(exp.CTE)}
        self.steps: list[Step] = []
        self._ids: Iterator[int] = itertools.count()
        self.options: dict[str, Any] = dict(query.args.get("predict_using") or {})

    def name(self, kind: str) -> str:
        return f"{_PREFIX}{kind}_{next(self._ids)}"

    def bind(self, table: exp.Table) -> Bound:
        if table.name.startswith(_PREFIX) and not table.db:
            return None
        return bind_table(self.session, table, self.ctes)


def plan_query(session: Session, query: exp.Expr) -> Plan:
    """The steps that answer a SELECT (or UNION, ...) and the final local query."""
    query = query.copy()
    planning = _Planning(session, query)
    query.set("predict_using", None)
    for select in reversed(list(query.find_all(exp.Select))):
        _plan_model_select(planning, select)
    _bind_plain_tables(planning, query)
    return Plan(tuple(planning.steps), query)


def _bind_plain_tables(planning: _Planning, query: exp.Expr) -> None:
    """Files are scanned in place; system tables are materialised; models elsewhere are an error."""
    for table in list(query.find_all(exp.Table)):
        if table.name.lower() == "dual" and not table.db and isinstance(table.parent, exp.From):
            table.parent.pop()  # SELECT 1 FROM DUAL: MySQL's table of one row, DuckDB has none
            continue
        bound = planning.bind(table)
        if isinstance(bound, FileTable):
            if not table.args.get("alias"):
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", planning.session.instance.files.scan_sql(bound.name))
            table.set("db", None)
            table.set("catalog", None)
        elif isinstance(bound, SystemTable):
            output = planning.name("system")
            planning.steps.append(MaterializeStep(output, bound.database, bound.name))
            table.replace(_relation(output, table.alias_or_name))
        elif isinstance(bound, ModelTable):
            raise NotSupported("A model can be read only in the FROM or JOIN of a SELECT")


def _plan_model_select(planning: _Planning, select: exp.Select) -> None:
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None:
        return
    sources = [from_.this] + [j.this for j in select.args.get("joins") or []]
    models = {}
    for source in sources:
        if isinstance(source, exp.Table):
            bound = planning.bind(source)
            if isinstance(bound, ModelTable):
                models[source.alias_or_name] = (source, bound)
    if not models:
        return
    data_sources = [s for s in sources if not (isinstance(s, exp.Table) and s.alias_or_name in models)]
    if not data_sources:
        if len(models) > 1:
            raise NotSupported("Join a model with a data table, not with another model")
        _plan_single_row(planning, select, *next(iter(models.values())))
    elif len(data_sources) == 1:
        _plan_batch(planning, select, data_sources[0], models)
    else:
        raise NotSupported("A JOIN with a model takes one data table: join the data tables in a subquery first")


def _plan_single_row(planning: _Planning, select: exp.Select, source: exp.Table, bound: ModelTable) -> None:
    alias = source.alias_or_name
    constants, empty = single_row_inputs(select.args.get("where"))
    output = planning.name("predict")
    planning.steps.append(PredictStep(output, bound.record, None, constants, {},
                                      _options_for(planning.options, alias, select), empty))
    select.set("where", None)
    source.replace(_relation(output, alias))


def _plan_batch(planning: _Planning, select: exp.Select, data: exp.Expr,
                models: dict[str, tuple[exp.Table, ModelTable]]) -> None:
    data_alias = data.alias_or_name
    if isinstance(data, exp.Table) and not data.db and data.name.lower() in planning.cte_bodies:
        # The fetch runs on its own, outside the WITH: read the CTE's query in its place.
        body = planning.cte_bodies[data.name.lower()].copy()
        data = exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(data_alias)))
    if not data_alias:
        raise NotSupported("Give the subquery joined with a model an alias: (SELECT ...) AS t")
    outputs = {alias: {name for name, _ in model_columns(b.record)[:5]} for alias, (_, b) in models.items()}
    split = split_join(select, data_alias, outputs, data)
    _bind_plain_tables(planning, split.fetch)
    fetched = planning.name("data")
    planning.steps.append(FetchStep(fetched, split.fetch))

    predicted = []
    for alias, (_, bound) in models.items():
        output = planning.name("predict")
        planning.steps.append(PredictStep(output, bound.record, fetched, split.constants[alias],
                                          split.renames[alias], _options_for(planning.options, alias, select)))
        predicted.append((output, alias))
    select.set("from_", exp.From(this=_relation(fetched, data_alias)))
    select.set("joins", [_positional_join(output, alias) for output, alias in predicted])


def _options_for(options: dict[str, Any], alias: str, select: exp.Select) -> dict[str, Any]:
    """Predict-time USING options for one model ("alias.key" targets one model) and what the query reads."""
    chosen = {k: v for k, v in options.items() if "." not in k}
    chosen.update({k.split(".", 1)[1]: v for k, v in options.items() if k.startswith(f"{alias.lower()}.")})
    chosen["__columns__"] = _referenced_columns(select, alias)
    return chosen


def _referenced_columns(select: exp.Select, alias: str) -> list[str] | None:
    """The model columns a query reads, or None when it may read all of them (a star)."""
    names = set()
    for star in select.find_all(exp.Star):
        parent = star.parent
        if not isinstance(parent, exp.Column) or parent.table == alias:
            return None
    for column in select.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            if column.table in ("", alias):
                return None
            continue
        if column.table in ("", alias):
            names.add(column.name)
    return sorted(names)


def _relation(name: str, alias: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _positional_join(name: str, alias: str) -> exp.Join:
    template = sqlglot.parse_one("SELECT * FROM a POSITIONAL JOIN b", read="duckdb")
    join = template.args["joins"][0]
    join.set("this", _relation(name, alias))
    return join
