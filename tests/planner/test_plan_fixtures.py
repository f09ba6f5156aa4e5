"""Plan fixtures: input SQL -> the SQL each linked database receives, the predictions made and
the local query (tests/fixtures/planner/*.sql, blocks separated by blank lines, as in sqlglot's
tests/fixtures/optimizer/). A block is `# title`, the statement, then one line per step:
`<database>: <sql sent>`, `predict <model> <- <input relation>`, `fetch: <duckdb sql>`,
`system: <table>`, and last `local: <duckdb sql>`."""

from __future__ import annotations

from pathlib import Path

import pytest

from augurdb.planner.planner import plan_query
from augurdb.planner.steps import FetchStep, MaterializeStep, Plan, PredictStep, RemoteScan
from augurdb.sql.compat import name_columns_as_mysql
from augurdb.sql.parser import parse

from .catalog import snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "planner"


def _blocks() -> list[tuple[str, str, list[str]]]:
    cases = []
    for path in sorted(FIXTURES.glob("*.sql")):
        for block in path.read_text().strip().split("\n\n"):
            lines = [line for line in block.strip().splitlines() if line.strip()]
            title = lines[0].lstrip("# ").strip()
            cases.append((f"{path.stem}: {title}", lines[1], lines[2:]))
    return cases


def describe_plan(plan: Plan) -> list[str]:
    """One line per step, then the local query: what the fixtures spell out."""
    lines = []
    for step in plan.steps:
        if isinstance(step, RemoteScan):
            lines.append(f"{step.database}: {step.sql}")
        elif isinstance(step, PredictStep):
            lines.append(f"predict {step.model.name} <- {step.input or 'constants'}")
        elif isinstance(step, FetchStep):
            lines.append(f"fetch: {step.query.sql('duckdb')}")
        elif isinstance(step, MaterializeStep):
            lines.append(f"system: {step.table}")
    return [*lines, f"local: {plan.query.sql('duckdb')}"]


CASES = _blocks()


def test_there_are_enough_fixtures() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("sql", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_plan(sql: str, expected: list[str]) -> None:
    plan = plan_query(snapshot(), name_columns_as_mysql(parse(sql)[0]))
    assert describe_plan(plan) == expected
