"""The training queue's rules, on real SQLite and PostgreSQL catalogs each shared by two Catalog
objects (as two servers share one): one claim per run, leases, requeue then failure, guarded ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.databases import DatabaseServer, postgres_server  # noqa: F401
from tests.jobs.catalogs import postgres_catalog_url

from augurdb.catalog.records import ModelRecord
from augurdb.catalog.store import Catalog
from augurdb.jobs.queue import JobQueue


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Catalog, Catalog]]:
    if request.param == "sqlite":
        location = str(tmp_path / "catalog.sqlite")
    else:
        location = postgres_catalog_url(request.getfixturevalue("postgres_server"))
    first = Catalog(location, secret_dir=tmp_path)
    first.add_project("mindsdb")
    second = Catalog(location, secret_dir=tmp_path)
    yield first, second
    first.close()
    second.close()


def _queued(catalog: Catalog, name: str = "m") -> int:
    record = ModelRecord(project="mindsdb", name=name, version=1, engine="automl", predict="y",
                         training_options={"using": {}}, created_at=time.time())
    return catalog.insert_model(record, training_data=f"{name}.parquet").id or 0


def test_a_queued_run_is_claimed_once(catalogs: tuple[Catalog, Catalog]) -> None:
    first, second = catalogs
    model_id = _queued(first)
    claim = JobQueue(first).claim("a", 10)
    assert claim is not None and (claim.model_id, claim.attempt, claim.training_data) == (model_id, 1, "m.parquet")
    assert JobQueue(second).claim("b", 10) is None


def test_the_model_and_its_run_are_written_together(catalogs: tuple[Catalog, Catalog]) -> None:
    first, _ = catalogs
    record = ModelRecord(project="nowhere", name="m", version=1, engine="automl", predict="y", created_at=0)
    with pytest.raises(Exception, match="(?i)foreign key"):
        first.insert_model(record, training_data="x.parquet")
    assert first.models() == [] and JobQueue(first).queued_or_running() == []


def test_a_lapsed_lease_is_requeued_then_failed_when_the_attempts_are_spent(
        catalogs: tuple[Catalog, Catalog]) -> None:
    first, second = catalogs
    model_id = _queued(first)
    queue = JobQueue(first)
    claim = queue.claim("a", 0.01)
    assert claim is not None
    assert JobQueue(second).reap(2, lambda name: True) == []  # the first lease is doubled: not lapsed yet
    time.sleep(0.05)
    assert JobQueue(second).reap(2, lambda name: True) == [(model_id, claim.run_id, "requeued")]
    assert first.model(model_id).status == "generating"  # type: ignore[union-attr]
    assert not queue.renew(claim, 10), "the requeued run is no longer the first claim's"
    assert not queue.finish(claim, status="complete") and first.model(model_id).status == "generating"  # type: ignore[union-attr]
    again = JobQueue(second).claim("b", 0.01)
    assert again is not None and again.attempt == 2
    time.sleep(0.05)
    assert JobQueue(first).reap(2, lambda name: True) == [(model_id, again.run_id, "failed")]
    model = first.model(model_id)
    assert model is not None and model.status == "error" and "each of its 2 workers" in (model.error or "")
    assert queue.queued_or_running() == []


def test_a_lapsed_run_whose_rows_are_gone_fails_at_once(catalogs: tuple[Catalog, Catalog]) -> None:
    first, _ = catalogs
    model_id = _queued(first)
    queue = JobQueue(first)
    assert queue.claim("a", 0.01) is not None
    time.sleep(0.05)
    assert [outcome for *_, outcome in queue.reap(2, lambda name: False)] == ["failed"]
    assert first.model(model_id).status == "error"  # type: ignore[union-attr]


def test_a_finished_run_writes_its_outcome_and_activates_the_version(catalogs: tuple[Catalog, Catalog]) -> None:
    first, second = catalogs
    model_id = _queued(first)
    claim = JobQueue(first).claim("a", 10)
    assert claim is not None and JobQueue(second).renew(claim, 10)
    assert JobQueue(second).finish(claim, activate=True, status="complete", accuracy=0.9)
    model = first.model(model_id)
    assert model is not None and (model.status, model.active, model.accuracy) == ("complete", True, 0.9)
    assert not JobQueue(first).renew(claim, 10) and JobQueue(first).queued_or_running() == []


def test_a_released_run_goes_back_without_spending_an_attempt(catalogs: tuple[Catalog, Catalog]) -> None:
    first, _ = catalogs
    _queued(first)
    queue = JobQueue(first)
    claim = queue.claim("a", 10)
    assert claim is not None and queue.release(claim, "queued: stopping")
    again = queue.claim("b", 10)
    assert again is not None and again.attempt == 1


def test_dropping_the_model_ends_its_run(catalogs: tuple[Catalog, Catalog]) -> None:
    first, second = catalogs
    model_id = _queued(first)
    claim = JobQueue(first).claim("a", 10)
    assert claim is not None
    second.delete_models([model_id])
    assert not JobQueue(first).renew(claim, 10) and not JobQueue(first).holds(claim)
