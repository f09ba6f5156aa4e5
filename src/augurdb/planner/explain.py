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
