"""A mixer named as module:Class (not installed) whose set-up is slow, like torch's first start."""

from __future__ import annotations

import time

from augurdb.automl.mixers.linear import LinearMixer

SET_UP_SECONDS = 3.0


class SlowStartMixer(LinearMixer):
    name = "SlowStartMixer"
    time_left_at_fit: list[float] = []  # seconds before its deadline when each fit began

    def warm_up(self) -> None:
        time.sleep(SET_UP_SECONDS)

    def fit(self, data, deadline: float) -> None:
        type(self).time_left_at_fit.append(deadline - time.monotonic())
        super().fit(data, deadline)


class SlowFitMixer(LinearMixer):
    """Its first fit in a process takes FIT_SECONDS, longer than the progress ticker's period."""

    name = "SlowFitMixer"
    FIT_SECONDS = 5.0
    fits = 0

    def fit(self, data, deadline: float) -> None:
        if type(self).fits == 0:
            time.sleep(self.FIT_SECONDS)
        type(self).fits += 1
        super().fit(data, deadline)
