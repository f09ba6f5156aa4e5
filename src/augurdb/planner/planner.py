"""Turn a bound SELECT into a Plan: source scans, predictions, then one DuckDB query.

The planner reads a catalog snapshot taken once per statement and builds the steps as
data: what each linked database receives (rendered in its dialect), which models predict
for which rows, and the local query that joins it all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import sqlglot
from sqlglot import exp

from augurdb.errors import NotSupported, UnknownColumn
from augurdb.executor.system_tables import model_output_columns
from augurdb.planner.binder import (
    Bound,
    FileTable,
    ModelTable,
    NativeTable,
    RemoteTable,
    SystemTable,
    bind_native,
    bind_table,
    cte_names,
)
from augurdb.planner.model_join import JoinSplit, conjuncts, single_row_inputs, split_join
from augurdb.planner.pushdown import (
    JoinGroup,
    is_inner_join,
    join_group,
    remove_conditions,
    render_for_source,
    scan_for_table,
    single_source,
)
from augurdb.planner.qualified_columns import drop_database_qualifiers
from augurdb.planner.snapshot import Snapshot
from augurdb.planner.steps import FetchStep, MaterializeStep, Plan, PredictStep, RemoteScan, Step
from augurdb.sql import ast

_PREFIX = "__augur_"


class _Planning:
    """State of planning one statement: its steps and fresh relation names."""

    def __init__(self, snapshot: Snapshot, query: exp.Expr):
        self.snapshot = snapshot
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
        return bind_table(self.snapshot, table, self.ctes)

    def remote_scan(self, database: str, sql: str) -> str:
        output = self.name("scan")
        self.steps.append(RemoteScan(output, database, sql))
        return output


def plan_query(snapshot: Snapshot, query: exp.Expr, copy: bool = True) -> Plan:
    """The steps that answer a SELECT (or UNION, ...) and the final local query. Planning rewrites
    the tree: ``copy=False`` when the caller owns it (compat.as_mysql_answers)."""
    if copy:
        query = query.copy()
    drop_database_qualifiers(query)
    planning = _Planning(snapshot, query)
    query.set("predict_using", None)
    for select in reversed(list(query.find_all(exp.Select))):
        _plan_model_select(planning, select)
    _drop_unused_ctes(query)
    query = _plan_sources(planning, query)
    return Plan(tuple(planning.steps), query)


def _drop_unused_ctes(query: exp.Expr) -> None:
    """A CTE read only as the data side of a model JOIN was inlined there: nothing reads it now."""
    referenced = {t.name.lower() for t in query.find_all(exp.Table) if not t.db}
    for cte in list(query.find_all(exp.CTE)):
        if cte.alias_or_name.lower() not in referenced:
            with_ = cte.parent
            cte.pop()
            if isinstance(with_, exp.With) and not with_.expressions:
                with_.pop()


def _plan_sources(planning: _Planning, root: exp.Expr) -> exp.Expr:
    """Send to each linked database what it can run; scan files in place; make system tables."""
    root = _push_whole_queries(planning, root)
    for select in list(root.find_all(exp.Select)):
        _scan_linked_tables(planning, select)
    for native in list(root.find_all(ast.NativeQuery)):
        bound = bind_native(planning.snapshot, native)
        output = planning.remote_scan(bound.database, bound.sql)
        native.replace(_relation(output, native.alias_or_name or native.name))
    _bind_local_tables(planning, root)
    return root


def _push_whole_queries(planning: _Planning, root: exp.Expr) -> exp.Expr:
    """Every maximal query tree that one linked database can run becomes one scan of it."""
    for node in list(root.find_all(exp.Select, exp.SetOperation)):
        if not _attached(node, root):  # inside a tree already sent whole
            continue
        database = single_source(node, planning.bind)
        if database is None:
            continue
        source = planning.snapshot.source(database)
        assert source is not None
        output = planning.remote_scan(database, render_for_source(node, planning.bind, source.dialect))
        scan = exp.select("*").from_(_relation(output, output))
        if node is root:
            return scan
        node.replace(scan)
    return root


def _attached(node: exp.Expr, root: exp.Expr) -> bool:
    while node is not root:
        if node.parent is None:
            return False
        node = node.parent
    return True


def _scan_linked_tables(planning: _Planning, select: exp.Select) -> None:
    """Linked tables left in a mixed-source SELECT: scan each with what concerns it alone."""
    from_ = select.args.get("from_")
    sources = ([from_.this] if from_ else []) + [j.this for j in select.args.get("joins") or []]
    bound = {id(s): planning.bind(s) for s in sources if isinstance(s, exp.Table)}
    remote = [(s, b) for s in sources if isinstance(b := bound.get(id(s)), RemoteTable)]
    if not remote:
        return
    owner = _column_owner(planning, sources, bound)
    if _join_same_source_tables(planning, select, sources, bound, owner):
        _scan_linked_tables(planning, select)  # what is left: tables alone in their source
        return
    for table, table_bound in remote:
        assert isinstance(table_bound, RemoteTable)
        scan = scan_for_table(select, table, table_bound, owner)
        sql = scan.select.sql(dialect=table_bound.source.dialect)
        output = planning.remote_scan(table_bound.database, sql)
        remove_conditions(select, scan.pushed)
        table.replace(_relation(output, scan.alias))


def _join_same_source_tables(planning: _Planning, select: exp.Select, sources: list[exp.Expr],
                             bound: dict[int, Bound], owner: Callable[[exp.Column], str | None]) -> bool:
    """Inner-joined tables of one linked database become one scan that joins them there."""
    joins = select.args.get("joins") or []
    if not joins or not all(is_inner_join(j) for j in joins):
        return False
    by_database: dict[str, list[tuple[exp.Table, RemoteTable]]] = {}
    for source in sources:
        b = bound.get(id(source))
        if isinstance(source, exp.Table) and isinstance(b, RemoteTable) and b.source.capabilities.pushdown:
            by_database.setdefault(b.database, []).append((source, b))
    for database, members in by_database.items():
        if len(members) < 2:
            continue
        known = {t.alias_or_name: planning.snapshot.remote_columns(b.database, b.table) for t, b in members}
        group = join_group(select, members, owner, known)
        if group is None:
            continue
        output = planning.remote_scan(database, group.scan.sql(dialect=members[0][1].source.dialect))
        _read_group_from(select, group, [t for t, _ in members], known, owner, output)
        return True
    return False


def _read_group_from(select: exp.Select, group: JoinGroup, tables: list[exp.Table],
                     known: dict[str, tuple[str, ...]], owner: Callable[[exp.Column], str | None],
                     output: str) -> None:
    """Rewrite `select` to read the group's tables from its one scan, named `output`."""
    members = {id(t) for t in tables}
    moved: list[exp.Expr] = []
    for join in list(select.args.get("joins") or []):
        kept = [p for p in conjuncts(join.args.get("on")) if not any(p is q for q in group.pushed)]
        if id(join.this) in members and join.this is not tables[0]:
            moved += kept  # an inner join's condition may as well be in the WHERE
            join.pop()
        else:
            join.set("on", exp.and_(*kept) if kept else None)
    remove_conditions(select, group.pushed)
    if moved:
        where = select.args.get("where")
        select.set("where", exp.Where(this=exp.and_(*([where.this] if where else []), *moved)))
    projections: list[exp.Expr] = []
    for projection in select.expressions:
        if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star) \
                and projection.table in group.aliases:  # a.* -> each of a's columns, by its own name
            projections += [exp.alias_(exp.column(f"{projection.table}.{c}", table=output, quoted=True), c,
                                       quoted=True) for c in known[projection.table]]
        else:
            projections.append(projection)
    select.set("expressions", projections)
    for column in list(select.find_all(exp.Column)):
        table = column.table or owner(column)
        if table not in group.aliases or isinstance(column.this, exp.Star):
            continue
        name = next((c for c in known[table] if c.lower() == column.name.lower()), column.name)
        renamed = exp.column(f"{table}.{name}", table=output, quoted=True)
        column.replace(exp.alias_(renamed, column.name) if column.parent is select else renamed)
    tables[0].replace(_relation(output, output))


def _column_owner(planning: _Planning, sources: list[exp.Expr], bound: dict[int, Bound]):  # type: ignore[no-untyped-def]
    """Which alias an unqualified column belongs to, from the tables' known columns."""
    known: list[tuple[str, frozenset[str] | None]] = []
    for source in sources:
        names = _known_columns(planning, bound.get(id(source)))
        known.append((source.alias_or_name, frozenset(n.lower() for n in names) if names is not None else None))

    def owner(column: exp.Column) -> str | None:
        if len(known) == 1:
            return known[0][0]
        if any(columns is None for _, columns in known):
            return None
        owners = [alias for alias, columns in known if columns and column.name.lower() in columns]
        return owners[0] if len(owners) == 1 else None

    return owner


def _known_columns(planning: _Planning, bound: Bound) -> tuple[str, ...] | None:
    """The columns of a linked table or a file; None for a subquery, a model or a plan relation."""
    if isinstance(bound, RemoteTable):
        return planning.snapshot.remote_columns(bound.database, bound.table)
    if isinstance(bound, FileTable):
        return tuple(c["name"] for c in bound.record.columns)
    return None


def _bind_local_tables(planning: _Planning, query: exp.Expr) -> None:
    """Files are scanned in place; system tables are materialised; models elsewhere are an error."""
    _refuse_tables_read_as_columns(planning, query)
    for table in list(query.find_all(exp.Table)):
        if table.name.lower() == "dual" and not table.db and isinstance(table.parent, exp.From):
            table.parent.pop()  # SELECT 1 FROM DUAL: MySQL's table of one row, DuckDB has none
            continue
        bound = planning.bind(table)
        if isinstance(bound, FileTable):
            if not table.args.get("alias"):
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            path = str(bound.record.path)
            table.set("this", exp.func("read_parquet", exp.Literal.string(path)))
            table.set("db", None)
            table.set("catalog", None)
        elif isinstance(bound, SystemTable):
            output = planning.name("system")
            planning.steps.append(MaterializeStep(output, bound.database, bound.name))
            table.replace(_relation(output, table.alias_or_name))
        elif isinstance(bound, ModelTable):
            raise NotSupported("A model can be read only in the FROM or JOIN of a SELECT")
        elif isinstance(bound, RemoteTable | NativeTable):
            raise NotSupported(f"'{bound.database}' cannot run this part of the query")


_CLAUSES = ((exp.Where, "where clause"), (exp.Order, "order clause"), (exp.Group, "group statement"),
            (exp.Having, "having clause"))


def _refuse_tables_read_as_columns(planning: _Planning, query: exp.Expr) -> None:
    """DuckDB reads a table's name, used as a column, as the whole row (a struct); MySQL has no
    such column and answers 1054. Checked where every table of the SELECT is a file, whose
    columns are known."""
    for select in query.find_all(exp.Select):
        from_ = select.args.get("from_") or select.args.get("from")
        sources = [from_.this] + [j.this for j in select.args.get("joins") or []] if from_ else []
        bound = [planning.bind(s) if isinstance(s, exp.Table) else None for s in sources]
        if not sources or not all(isinstance(b, FileTable) for b in bound):
            continue
        names = {s.alias_or_name.lower() for s in sources}
        names -= {c["name"].lower() for b in bound if isinstance(b, FileTable) for c in b.record.columns}
        names -= {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
        for column in select.find_all(exp.Column):
            if (not column.table and column.name.lower() in names and not isinstance(column.this, exp.Star)
                    and column.find_ancestor(exp.Select) is select):
                clause = next((text for kind, text in _CLAUSES if column.find_ancestor(kind)), "field list")
                raise UnknownColumn(f"Unknown column '{column.name}' in '{clause}'")


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
                                      _options_for(planning.options, alias), empty,
                                      _referenced_columns(select, alias)))
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
    outputs = {alias: {name for name, _ in model_output_columns(b.record)} for alias, (_, b) in models.items()}
    split = split_join(select, data_alias, outputs, data)
    if isinstance(data, exp.Table):
        columns = _data_columns_needed(select, data_alias, _known_columns(planning, planning.bind(data)),
                                       models, split)
        if columns:
            split.fetch.set("expressions", [exp.column(exp.to_identifier(c, quoted=True)) for c in columns])
    fetched = _plan_fetch(planning, split.fetch)

    predicted = []
    for alias, (_, bound) in models.items():
        output = planning.name("predict")
        planning.steps.append(PredictStep(output, bound.record, fetched, split.constants[alias],
                                          split.renames[alias], _options_for(planning.options, alias),
                                          reads=_referenced_columns(select, alias)))
        predicted.append((output, alias))
    select.set("from_", exp.From(this=_relation(fetched, data_alias)))
    select.set("joins", [_positional_join(output, alias) for output, alias in predicted])


def _data_columns_needed(select: exp.Select, data_alias: str, table_columns: tuple[str, ...] | None,
                         models: dict[str, tuple[exp.Table, ModelTable]], split: JoinSplit) -> list[str] | None:
    """The data table's columns a model JOIN reads (the query's and the models' inputs), or None for all."""
    if table_columns is None:
        return None
    for star in select.find_all(exp.Star):
        parent = star.parent
        if not isinstance(parent, exp.Column) or parent.table == data_alias:
            return None
    by_lower = {c.lower(): c for c in table_columns}
    wanted = {c.name.lower() for c in select.find_all(exp.Column) if c.table in (data_alias, "")}
    for alias, (_, bound) in models.items():
        fed_by = {model_input.lower(): data_column for data_column, model_input in split.renames[alias].items()}
        for model_input in bound.record.input_columns or []:
            if model_input not in split.constants[alias]:
                wanted.add(fed_by.get(model_input.lower(), model_input).lower())
    return [by_lower[name] for name in by_lower if name in wanted]


def _plan_fetch(planning: _Planning, fetch: exp.Select) -> str:
    """The data side of a model JOIN: one scan when a linked database runs it all, else DuckDB."""
    planned = _plan_sources(planning, fetch)
    relation = _bare_relation(planned)
    if relation is not None:  # SELECT * FROM one scan: predict from the scan itself
        return relation
    fetched = planning.name("data")
    planning.steps.append(FetchStep(fetched, planned))
    return fetched


def _bare_relation(query: exp.Expr) -> str | None:
    """The relation name when `query` is `SELECT * FROM <relation of the plan>` and nothing more."""
    if not isinstance(query, exp.Select) or {k for k, v in query.args.items() if v} != {"expressions", "from_"}:
        return None
    source = query.args["from_"].this
    if len(query.expressions) != 1 or not isinstance(query.expressions[0], exp.Star):
        return None
    if isinstance(source, exp.Table) and source.name.startswith(_PREFIX) and not source.db:
        return str(source.name)
    return None


def _options_for(options: dict[str, Any], alias: str) -> dict[str, Any]:
    """Predict-time USING options for one model ("alias.key" targets one model)."""
    chosen = {k: v for k, v in options.items() if "." not in k}
    chosen.update({k.split(".", 1)[1]: v for k, v in options.items() if k.startswith(f"{alias.lower()}.")})
    return chosen


def _referenced_columns(select: exp.Select, alias: str) -> frozenset[str] | None:
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
            names.add(column.name.lower())  # SQL names are case-insensitive
    return frozenset(names)


def _relation(name: str, alias: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _positional_join(name: str, alias: str) -> exp.Join:
    template = sqlglot.parse_one("SELECT * FROM a POSITIONAL JOIN b", read="duckdb")
    join = template.args["joins"][0]
    join.set("this", _relation(name, alias))
    return join
