"""SELECT, UNION and friends: plan, run the steps, then one DuckDB query over their outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from augurdb.executor.dispatch import run_statement
from augurdb.executor.predict import run_predict
from augurdb.executor.system_tables import INFORMATION_SCHEMA_TABLES, models_table
from augurdb.planner.planner import plan_query
from augurdb.planner.steps import FetchStep, MaterializeStep, Plan, PredictStep
from augurdb.result import Result
from augurdb.sql.compat import name_columns_as_mysql, rewrite_client_probes
from augurdb.sql.parser import to_duckdb

if TYPE_CHECKING:
    from augurdb.session import Session


@run_statement.register(exp.Query)
def _query(statement: exp.Query, session: Session) -> Result:
    return Result.rows(run_query(session, statement))


def run_query(session: Session, statement: exp.Expression) -> pa.Table:
    """Answer a query as an Arrow table."""
    statement = name_columns_as_mysql(rewrite_client_probes(session, statement))
    if _is_constant_select(statement):
        return session.local_sql(to_duckdb(statement))
    return run_plan(session, plan_query(session, statement))


def run_plan(session: Session, plan: Plan) -> pa.Table:
    cursor = session.instance.duckdb.cursor()
    try:
        relations: dict[str, pa.Table] = {}
        for step in plan.steps:
            if isinstance(step, FetchStep):
                fetch_sql = to_duckdb(step.query)
                result = session.translate_errors(lambda sql=fetch_sql: cursor.sql(sql).to_arrow_table())
            elif isinstance(step, MaterializeStep):
                result = _materialize(session, step)
            elif isinstance(step, PredictStep):
                result = run_predict(session, step, relations[step.input] if step.input else None)
            relations[step.output] = result
            cursor.register(step.output, result)
        return session.translate_errors(lambda: cursor.sql(to_duckdb(plan.query)).to_arrow_table())
    finally:
        cursor.close()


def _materialize(session: Session, step: MaterializeStep) -> pa.Table:
    if step.table == "models":
        project = None if step.database == "information_schema" else step.database
        return models_table(session, project)
    return INFORMATION_SCHEMA_TABLES[step.table](session)


def _is_constant_select(statement: exp.Expression) -> bool:
    return isinstance(statement, exp.Select) and not statement.args.get("from_") and not any(
        statement.find_all(exp.Table))
