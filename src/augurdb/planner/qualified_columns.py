"""MySQL's database-qualified columns: `SELECT files.t.a FROM files.t` (as BI tools write it)."""

from __future__ import annotations

from sqlglot import exp


def drop_database_qualifiers(query: exp.Expr) -> None:
    """Make `db.t.col` (and `db.schema.t.col`) plain `t.col` where a table of the same or an
    enclosing SELECT is that `db.t` without an alias, as MySQL resolves it. Unmatched references
    stay as written, for the binder to refuse."""
    for column in list(query.find_all(exp.Column)):
        if not column.args.get("db"):
            continue
        qualifiers = _parts(column.args.get("catalog"), column.args.get("db"), column.args.get("table"))
        if any(_parts(t.args.get("catalog"), t.args.get("db"), t.this)[-len(qualifiers):] == qualifiers
               for t in _visible_tables(column)):
            column.set("db", None)
            column.set("catalog", None)


def _parts(*parts: exp.Expr | None) -> list[str]:
    return [part.name.lower() for part in parts if part is not None]


def _visible_tables(column: exp.Column) -> list[exp.Table]:
    """The unaliased tables in the FROM and JOINs of each SELECT around `column`, nearest first."""
    tables: list[exp.Table] = []
    select = column.find_ancestor(exp.Select)
    while select is not None:
        sources = [select.args["from_"].this] if select.args.get("from_") else []
        sources += [join.this for join in select.args.get("joins") or []]
        tables += [s for s in sources if isinstance(s, exp.Table) and not s.alias]
        select = select.find_ancestor(exp.Select)
    return tables
