"""A streamed model JOIN computes its next batch while the current one is sent (stream.read_ahead)."""

from __future__ import annotations

import threading

import pytest

from augurdb.executor.stream import read_ahead


class Source:
    """Batches 0..n-1, recording which thread computed each and whether the source was closed."""

    def __init__(self, n: int, fail_at: int | None = None):
        self.n, self.fail_at = n, fail_at
        self.threads: list[str] = []
        self.computed = [threading.Event() for _ in range(n)]
        self.closed_in: str | None = None

    def __iter__(self):
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise ValueError(f"bad value in batch {i}")
                self.threads.append(threading.current_thread().name)
                self.computed[i].set()
                yield i
        finally:
            self.closed_in = threading.current_thread().name


def test_every_batch_comes_in_order_computed_off_the_callers_thread():
    source = Source(5)
    assert list(read_ahead(iter(source))) == [0, 1, 2, 3, 4]
    assert all(name.startswith("augurdb-read-ahead") for name in source.threads)


def test_the_next_batch_is_computed_while_the_caller_holds_this_one_and_no_further():
    source = Source(5)
    batches = read_ahead(iter(source))
    assert next(batches) == 0
    assert source.computed[1].wait(timeout=30)  # computed without the caller asking for it
    assert not source.computed[2].is_set()  # one batch ahead at most: memory stays bounded
    batches.close()


def test_a_failure_reaches_the_caller_after_the_batches_before_it():
    batches = read_ahead(iter(Source(5, fail_at=2)))
    assert [next(batches), next(batches)] == [0, 1]
    with pytest.raises(ValueError, match="bad value in batch 2"):
        next(batches)


def test_a_caller_that_stops_early_closes_the_source_in_its_own_thread():
    source = Source(5)
    batches = read_ahead(iter(source))
    assert next(batches) == 0
    batches.close()  # waits for batch 1, in hand, before the source can be closed
    assert source.closed_in == threading.current_thread().name
    assert source.threads == ["augurdb-read-ahead_0"] * 2
