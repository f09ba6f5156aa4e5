"""The login throttle's schedule, on a clock the test moves (no real waiting)."""

from __future__ import annotations

from augurdb.server.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_beyond_the_free_ones_wait_longer_each_time_up_to_the_cap() -> None:
    throttle = LoginThrottle(free=3, max_delay_s=8, clock=Clock())
    delays = []
    for _ in range(8):
        delays.append(throttle.delay_for("10.0.0.1"))
        throttle.failed("10.0.0.1")
    assert delays == [0, 0, 0, 1, 2, 4, 8, 8]
    assert throttle.delay_for("10.0.0.2") == 0  # another host is not held


def test_a_success_clears_the_count() -> None:
    throttle = LoginThrottle(free=3, clock=Clock())
    for _ in range(5):
        throttle.failed("h")
    assert throttle.delay_for("h") == 4
    throttle.succeeded("h")
    assert throttle.delay_for("h") == 0


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(free=3, window_s=600, clock=clock)
    for _ in range(4):
        throttle.failed("h")
    assert throttle.delay_for("h") == 2
    clock.now += 601
    assert throttle.delay_for("h") == 0
    throttle.failed("h")
    assert throttle.delay_for("h") == 0  # counting starts again
