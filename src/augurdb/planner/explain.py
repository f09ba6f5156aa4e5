"""A plan as rows a user can read: what each source receives, what each model predicts, what runs locally."""

from __future__ import annotations

from augurdb.planner.steps import FetchStep, MaterializeStep, Plan, PredictStep, RemoteScan


def plan_rows(plan: Plan) -> list[dict[str, str]]:
    """One row per step, in the order they run, then the local query (EXPLAIN's answer)."""
    rows = []
    for step in plan.steps:
        if isinstance(step, RemoteScan):
            rows.append({"operator": "RemoteScan", "target": step.database, "detail": step.sql})
        elif isinstance(step, PredictStep):
            inputs = step.input or "the constants of the WHERE clause"
            detail = f"one prediction per row of {inputs}"
            if step.constants:
                detail += f"; inputs set for every row: {step.constants}"  # WHERE m.x = v sets, not filters
            rows.append({"operator": "Predict", "target": f"{step.model.qualified_name}.{step.model.version}",
                         "detail": detail})
        elif isinstance(step, FetchStep):
            rows.append({"operator": "LocalFetch", "target": "duckdb", "detail": step.query.sql("duckdb")})
        elif isinstance(step, MaterializeStep):
            rows.append({"operator": "SystemTable", "target": f"{step.database}.{step.table}", "detail": ""})
        rows[-1]["output"] = step.output
    rows.append({"operator": "Local", "target": "duckdb", "detail": plan.query.sql("duckdb"), "output": "result"})
    return [{"step": str(i), **row} for i, row in enumerate(rows, start=1)]


def plan_warnings(plan: Plan) -> list[tuple[str, int, str]]:
    """What the rows do not show (SHOW WARNINGS): `WHERE m.x = v` in a JOIN sets the model's input
    x for every row, MindsDB's meaning, where a SQL user would expect it to filter rows."""
    warnings = []
    for step in plan.steps:
        if isinstance(step, PredictStep) and step.input is not None and step.constants:
            given = ", ".join(f"{name} = {value!r}" for name, value in step.constants.items())
            warnings.append(("Warning", 1105, f"WHERE {given} sets that input of model {step.model.qualified_name} "
                                              "for every row (it does not filter rows); filter on the data "
                                              "table's columns instead"))
    return warnings
