"""What a linked database runs itself: pure functions from bound query trees to source SQL.

Two rules, applied in this order by the planner:
- a query (or any subquery, CTE body or UNION branch) whose tables all belong to one linked
  database is sent whole, rendered by sqlglot in that database's dialect;
- in a query that mixes sources, each linked table is read by a scan of the columns the
  query uses and the WHERE conditions that concern that table alone (not on the nullable
  side of an outer join); DuckDB joins the scans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from augurdb.planner.binder import Bound, RemoteTable
from augurdb.planner.model_join import conjuncts

Binder = Callable[[exp.Table], Bound]


def query_sources(node: exp.Expr) -> list[exp.Expr]:
    """The tables and native queries a query reads, at any depth."""
    from augurdb.sql import ast

    return list(node.find_all(exp.Table, ast.NativeQuery))


def single_source(node: exp.Expr, bind: Binder) -> str | None:
    """The linked database that can run all of `node`, or None.

    CTEs defined inside `node` travel with it; a reference to a CTE defined outside, a
    file, a model, a system table or a native query keeps the node local.
    """
    inner_ctes = {cte.alias_or_name.lower() for cte in node.find_all(exp.CTE)}
    database = None
    for table in query_sources(node):
        if not isinstance(table, exp.Table):
            return None
        if not table.db and table.name.lower() in inner_ctes:
            continue
        bound = bind(table)
        if not isinstance(bound, RemoteTable) or not bound.source.capabilities.pushdown:
            return None
        if database not in (None, bound.database):
            return None
        database = bound.database
    return database


def render_for_source(node: exp.Expr, bind: Binder, dialect: str) -> str:
    """`node` in the source's dialect, its tables named as the source names them."""
    inner_ctes = {cte.alias_or_name.lower() for cte in node.find_all(exp.CTE)}
    copy = node.copy()
    for table in list(copy.find_all(exp.Table)):
        if not table.db and table.name.lower() in inner_ctes:
            continue
        bound = bind(table)
        assert isinstance(bound, RemoteTable)
        _rename(table, bound.relation)
    return copy.sql(dialect=dialect)


def _rename(table: exp.Table, relation: exp.Table) -> None:
    table.set("this", relation.this.copy())
    table.set("db", relation.args["db"].copy() if relation.args.get("db") else None)
    table.set("catalog", None)


@dataclass(frozen=True)
class TableScan:
    """The scan of one linked table inside a mixed-source SELECT."""

    alias: str
    select: exp.Select  # over the source's own table name, aliased as in the query
    pushed: tuple[exp.Expr, ...]  # WHERE conditions the scan applies (removed from the query)


def scan_for_table(select: exp.Select, table: exp.Table, bound: RemoteTable,
                   owner: Callable[[exp.Column], str | None]) -> TableScan:
    """Columns and conditions of `select` that one linked table can answer by itself.

    `owner` names the alias an unqualified column belongs to (None when unknown: the scan
    then reads every column, which is always correct).
    """
    alias = table.alias_or_name
    columns = _columns_needed(select, alias, owner)
    projection: list[exp.Expr] = list(columns) or [exp.Star()]
    scan = exp.select(*projection).from_(
        exp.Table(this=bound.relation.this.copy(),
                  db=bound.relation.args["db"].copy() if bound.relation.args.get("db") else None,
                  alias=exp.TableAlias(this=exp.to_identifier(alias))))
    pushed: list[exp.Expr] = []
    if alias not in nullable_aliases(select):
        where = select.args.get("where")
        for part in conjuncts(where.this if where else None):
            if _only_about(part, alias, owner):
                pushed.append(part)
    if pushed:
        scan = scan.where(exp.and_(*[p.copy() for p in pushed]))
    return TableScan(alias, scan, tuple(pushed))


def remove_conditions(select: exp.Select, pushed: tuple[exp.Expr, ...]) -> None:
    """Drop the WHERE conditions a scan now applies."""
    where = select.args.get("where")
    if where is None or not pushed:
        return
    kept = [p for p in conjuncts(where.this) if not any(p is q for q in pushed)]
    select.set("where", exp.Where(this=exp.and_(*kept)) if kept else None)


def nullable_aliases(select: exp.Select) -> set[str]:
    """Aliases on the NULL-padded side of an outer join: a WHERE on them cannot move below it."""
    from_ = select.args.get("from_")
    aliases = [from_.this.alias_or_name] if from_ else []
    nullable: set[str] = set()
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        alias = join.this.alias_or_name
        if side in ("LEFT", "FULL"):
            nullable.add(alias)
        if side in ("RIGHT", "FULL"):
            nullable.update(aliases)
        aliases.append(alias)
    return nullable


def _columns_needed(select: exp.Select, alias: str, owner: Callable[[exp.Column], str | None]) -> list[exp.Column]:
    """The columns of `alias` the select reads, or [] when it may read all of them."""
    for star in select.find_all(exp.Star):
        parent = star.parent
        if not isinstance(parent, exp.Column) or parent.table == alias:
            return []
    names: dict[str, exp.Column] = {}
    for column in select.find_all(exp.Column):
        table = column.table or owner(column)
        if table is None and not column.table and column.find_ancestor(exp.Select) is select:
            return []  # a column we cannot place: read them all
        if table == alias:
            names.setdefault(column.name.lower(), exp.column(column.args["this"].copy()))
    return list(names.values())


def _only_about(part: exp.Expr, alias: str, owner: Callable[[exp.Column], str | None]) -> bool:
    columns = list(part.find_all(exp.Column))
    if not columns or any(part.find_all(exp.Subquery, exp.Select)):
        return False
    return all((c.table or owner(c)) == alias for c in columns)


def is_inner_join(join: exp.Join) -> bool:
    """INNER, CROSS and comma joins without USING: their conditions may move freely."""
    return not join.side and (join.kind or "INNER").upper() in ("INNER", "CROSS") and not join.args.get("using")


@dataclass(frozen=True)
class JoinGroup:
    """Tables of one linked database joined inside a mixed-source SELECT, read by one scan.

    The scan names each column it reads `alias.column`, so the rest of the query can tell
    the tables apart after they become one relation.
    """

    database: str
    aliases: tuple[str, ...]
    scan: exp.Select
    pushed: tuple[exp.Expr, ...]  # the WHERE and ON conditions the scan applies


def join_group(select: exp.Select, members: list[tuple[exp.Table, RemoteTable]],
               owner: Callable[[exp.Column], str | None], known: dict[str, tuple[str, ...]]) -> JoinGroup | None:
    """One scan for `members` (tables of one source, all inner-joined), or None when the query
    reads them in a way the scan cannot name (a bare `*`, a column it cannot place)."""
    aliases = tuple(t.alias_or_name for t, _ in members)
    projection_names = {p.alias_or_name.lower() for p in select.expressions}
    needed: dict[tuple[str, str], None] = {}
    for column in select.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            if column.table in aliases:
                needed.update({(column.table, c): None for c in known[column.table]})
            continue
        table = column.table or owner(column)
        if table is None and not column.table and column.name.lower() not in projection_names:
            return None
        if table in aliases:
            needed[(table, _spelling(column.name, known[table]))] = None
    if any(isinstance(p, exp.Star) for p in select.expressions):
        return None
    pool = select_conditions(select)
    pushed = tuple(p for p in pool if _only_about_any(p, aliases, owner))
    scan = exp.select(*[exp.alias_(exp.column(c, table=a, quoted=True), f"{a}.{c}", quoted=True)
                        for a, c in needed]).from_(_aliased(*members[0]))
    for member, bound in members[1:]:
        scan = scan.join(_aliased(member, bound), join_type="CROSS")
    if pushed:
        scan = scan.where(exp.and_(*[p.copy() for p in pushed]))
    return JoinGroup(members[0][1].database, aliases, scan, pushed)


def select_conditions(select: exp.Select) -> list[exp.Expr]:
    """The AND-ed conditions of the WHERE and of every join's ON."""
    where = select.args.get("where")
    parts = conjuncts(where.this if where else None)
    for join in select.args.get("joins") or []:
        parts += conjuncts(join.args.get("on"))
    return parts


def _spelling(name: str, columns: tuple[str, ...]) -> str:
    by_lower = {c.lower(): c for c in columns}
    return by_lower.get(name.lower(), name)


def _aliased(table: exp.Table, bound: RemoteTable) -> exp.Table:
    return exp.Table(this=bound.relation.this.copy(),
                     db=bound.relation.args["db"].copy() if bound.relation.args.get("db") else None,
                     alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name)))


def _only_about_any(part: exp.Expr, aliases: tuple[str, ...], owner: Callable[[exp.Column], str | None]) -> bool:
    columns = list(part.find_all(exp.Column))
    if not columns or any(part.find_all(exp.Subquery, exp.Select)):
        return False
    return all((c.table or owner(c)) in aliases for c in columns)
