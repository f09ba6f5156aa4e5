"""Model JOINs over big files on Ray Data, when the server runs on Ray (`--ray-address`).

A streaming model JOIN (executor/stream.py) whose data is one uploaded file of at least
`ray_batch_min_rows` rows runs its data step and its predictions as Ray Data `map_batches`
over the file's partitions (its Parquet row groups): each Ray worker loads the model once,
filters and projects its partition with DuckDB as the plan says, predicts it, and hands back
the rows with their predictions. The server only runs the final row-at-a-time query on what
comes back, in order, so the answer is the local stream's, row for row.

Files live in the artifact store, which servers on a cluster share, so every node can read
them. Other sources (linked databases) and smaller files stream locally.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from augurdb.planner.steps import FetchStep, Plan, PredictStep

if TYPE_CHECKING:
    from augurdb.session import Session

log = logging.getLogger(__name__)

PART = "__augur_part"  # the partition's name in the data step's query, inside a Ray worker
_DATA, _PREDICTED = "d:", "p:"  # prefixes that carry both relations in one Arrow table


def ray_parquet_path(session: Session, plan: Plan) -> str | None:
    """The file a streaming plan could read on Ray Data, or None when it should stream here."""
    settings = session.instance.settings
    if not settings.ray_address or len(plan.steps) != 2:
        return None
    data, predict = plan.steps
    if not isinstance(data, FetchStep) or not isinstance(predict, PredictStep) or predict.empty:
        return None
    query = data.query
    if not isinstance(query, exp.Select) or query.args.get("limit") or query.args.get("order") \
            or query.args.get("joins") or any(query.find_all(exp.AggFunc, exp.Window, exp.Subquery)):
        return None
    readers = list(query.find_all(exp.ReadParquet))
    if len(readers) != 1:
        return None
    path = readers[0].expressions[0].name
    record = next((f for f in session.instance.catalog.files() if str(f.path) == path), None)
    if record is None or record.row_count < settings.ray_batch_min_rows:
        return None
    return path


def ray_predicted_batches(session: Session, plan: Plan, path: str) -> Iterator[dict[str, pa.Table]]:
    """The plan's data and prediction relations, one partition at a time, computed on Ray."""
    import ray.data

    from augurdb.jobs.ray_runner import connect_ray

    connect_ray(session.instance.settings.ray_address or "")
    # The answer must be the local stream's, row for row: a LIMIT without ORDER BY takes the first rows.
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    data, predict = plan.steps
    assert isinstance(data, FetchStep) and isinstance(predict, PredictStep)
    part_query = data.query.copy()
    for reader in list(part_query.find_all(exp.ReadParquet)):
        reader.replace(exp.to_identifier(PART))
    record = predict.model
    dataset = ray.data.read_parquet(path).map_batches(
        _PartitionPredictor, batch_format="pyarrow", batch_size=None, zero_copy_batch=True,
        # An autoscaling pool from one worker: a fixed pool holding every CPU would starve Ray Data's
        # own file-listing task on a small cluster.
        concurrency=(1, max(session.instance.settings.training_workers, 1)), num_cpus=1,
        fn_constructor_kwargs={"engine": record.engine,
                               "model_dir": str(session.instance.artifacts.model_dir(record.id or 0)),
                               "options": record.training_options.get("using", {}),
                               "query": part_query, "step": predict})
    log.info("model JOIN of %s on Ray Data over %s", record.qualified_name, path)
    for block in dataset.iter_batches(batch_format="pyarrow", batch_size=None, prefetch_batches=2):
        session.interrupt.check()
        packed: pa.Table = block
        if packed.num_rows == 0:
            continue
        yield {data.output: _unpack(packed, _DATA), predict.output: _unpack(packed, _PREDICTED)}


class _PartitionPredictor:
    """A Ray Data worker: the model loaded once, then one partition per call."""

    def __init__(self, engine: str, model_dir: str, options: dict[str, Any], query: exp.Expr, step: PredictStep):
        from pathlib import Path

        import duckdb

        from augurdb.integrations.ml.registry import get_engine

        self.model = get_engine(engine).load(Path(model_dir), options)
        self.query, self.step = query, step
        self.duckdb = duckdb.connect()

    def __call__(self, part: pa.Table) -> pa.Table:
        from augurdb.executor.predict import predict_table
        from augurdb.executor.queries import local_arrow

        self.duckdb.register(PART, part)
        try:
            rows = local_arrow(self.duckdb, self.query)  # with the server's MySQL comparison rules
        finally:
            self.duckdb.unregister(PART)
        if rows.num_rows == 0:
            return _pack(rows, pa.table({}))  # skipped by the server
        predicted = predict_table(self.model, self.step, rows)
        return _pack(rows, predicted)


def _pack(rows: pa.Table, predicted: pa.Table) -> pa.Table:
    columns = [*rows.columns, *predicted.columns]
    names = [_DATA + n for n in rows.column_names] + [_PREDICTED + n for n in predicted.column_names]
    return pa.table(columns, names=names)


def _unpack(packed: pa.Table, prefix: str) -> pa.Table:
    keep = [i for i, name in enumerate(packed.column_names) if name.startswith(prefix)]
    return pa.table([packed.column(i) for i in keep], names=[packed.column_names[i][len(prefix):] for i in keep])
