"""Split a SELECT that reads a model into steps: fetch the data, predict, then a local query.

Pure functions over sqlglot trees. The rules follow MindsDB's planner where users rely
on them (filters on the data table and, when safe, ORDER BY and LIMIT are applied
before predicting; `m.col = const` feeds a constant input; `ON t.a = m.b` renames a
data column to a model input) and fix what it gets wrong (no SELECT * pushed when a
GROUP BY needs all rows is kept, but nothing is lost: the outer query re-applies
every condition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from augurdb.errors import NotSupported
from augurdb.sql.parser import literal_value


@dataclass
class JoinSplit:
    """How one SELECT ... data JOIN model is carried out."""

    fetch: exp.Select
    constants: dict[str, dict[str, Any]] = field(default_factory=dict)  # model alias -> input constants
    renames: dict[str, dict[str, str]] = field(default_factory=dict)  # model alias -> {data col: input}


def conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    """The AND-ed parts of a condition."""
    if condition is None:
        return []
    if isinstance(condition, exp.And):
        return conjuncts(condition.left) + conjuncts(condition.right)
    if isinstance(condition, exp.Paren):
        return conjuncts(condition.this)
    return [condition]


def single_row_inputs(where: exp.Expr | None) -> tuple[dict[str, Any], bool]:
    """Input values of `SELECT ... FROM model WHERE a = 1 AND b = 'x'`, and whether the WHERE is false (1=0)."""
    values: dict[str, Any] = {}
    for part in conjuncts(where.this if isinstance(where, exp.Where) else where):
        if _is_false(part):
            return values, True
        column, value = _column_equals_constant(part)
        if column is None:
            raise NotSupported(
                "Only 'column = value' conditions joined by AND can be used when selecting from a model "
                f"(found {part.sql('mysql')!r}); use a JOIN with a table to predict for many rows")
        if column.name in values:
            raise NotSupported(f"Column '{column.name}' is given twice in the WHERE clause")
        values[column.name] = value
    return values, False


def split_join(select: exp.Select, data_alias: str, model_aliases: dict[str, set[str]],
               data_source: exp.Expr) -> JoinSplit:
    """The fetch query for the data side and the inputs each model gets.

    model_aliases maps each model alias to its output column names (a condition on an
    output filters predictions and cannot be an input).
    """
    split = JoinSplit(fetch=exp.select("*").from_(data_source.copy()))
    for alias in model_aliases:
        split.constants[alias] = {}
        split.renames[alias] = {}
    for join in select.args.get("joins") or []:
        alias = join.this.alias_or_name
        if alias in model_aliases:
            split.renames[alias] = _renames(join.args.get("on"), data_alias, alias)

    pushed, remaining = [], []
    where = select.args.get("where")
    for part in conjuncts(where.this if where else None):
        if _only_refers_to(part, data_alias):
            pushed.append(part)
            continue
        column, value = _column_equals_constant(part)
        if column is not None and column.table in model_aliases and column.name not in model_aliases[column.table]:
            split.constants[column.table][column.name] = value
            continue
        remaining.append(part)
    if pushed:
        split.fetch = split.fetch.where(exp.and_(*[_unqualify(p.copy(), data_alias) for p in pushed]))
    if not remaining and _limit_can_be_pushed(select, data_alias):
        _push_order_and_limit(select, split.fetch, data_alias)
    return split


def _renames(on: exp.Expr | None, data_alias: str, model_alias: str) -> dict[str, str]:
    renames: dict[str, str] = {}
    for part in conjuncts(on):
        if isinstance(part, exp.EQ) and isinstance(part.left, exp.Column) and isinstance(part.right, exp.Column):
            sides = {part.left.table: part.left.name, part.right.table: part.right.name}
            if data_alias in sides and model_alias in sides:
                renames[sides[data_alias]] = sides[model_alias]
                continue
        raise NotSupported(
            f"A JOIN with a model takes only ON data.column = model.column conditions, found {part.sql('mysql')!r}")
    return renames


def _column_equals_constant(part: exp.Expr) -> tuple[exp.Column | None, Any]:
    if not isinstance(part, exp.EQ):
        return None, None
    for column, value in ((part.left, part.right), (part.right, part.left)):
        if isinstance(column, exp.Column) and _is_constant(value):
            return column, literal_value(value)
    return None, None


def _is_constant(value: exp.Expr) -> bool:
    if isinstance(value, exp.Paren):
        return _is_constant(value.this)
    if isinstance(value, exp.Neg):
        return _is_constant(value.this)
    return isinstance(value, exp.Literal | exp.Boolean | exp.Null)


def _is_false(part: exp.Expr) -> bool:
    if isinstance(part, exp.Boolean):
        return not part.this
    if isinstance(part, exp.EQ) and isinstance(part.left, exp.Literal) and isinstance(part.right, exp.Literal):
        return part.left.this != part.right.this
    return False


def _only_refers_to(part: exp.Expr, alias: str) -> bool:
    columns = list(part.find_all(exp.Column))
    if not columns or any(part.find_all(exp.Subquery, exp.Select)):
        return False
    return all(c.table == alias for c in columns)


def _unqualify(part: exp.Expr, alias: str) -> exp.Expr:
    """Columns of the pushed conditions name the fetched table by its own alias."""
    for column in part.find_all(exp.Column):
        column.set("table", exp.to_identifier(alias))
    return part


def _limit_can_be_pushed(select: exp.Select, data_alias: str) -> bool:
    if not select.args.get("limit"):
        return False
    if select.args.get("group") or select.args.get("having") or select.args.get("distinct"):
        return False
    if any(select.find_all(exp.AggFunc, exp.Window)):
        return False
    order = select.args.get("order")
    return order is None or all(_only_refers_to(o, data_alias) for o in order.expressions)


def _push_order_and_limit(select: exp.Select, fetch: exp.Select, data_alias: str) -> None:
    order = select.args.get("order")
    if order is not None:
        fetch.set("order", order.copy())
    limit = select.args["limit"]
    offset = select.args.get("offset")
    count = literal_value(limit.expression)
    if offset is not None:
        count += literal_value(offset.expression)
    fetch.set("limit", exp.Limit(expression=exp.Literal.number(count)))
