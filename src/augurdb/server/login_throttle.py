"""Repeated failed logins slow down, as with MySQL's connection_control plugin.

After `free` failed logins from one host (within `window_s` of each other), every further login
attempt from that host waits before it is answered: 1 s, then 2, 4, ... up to `max_delay_s`.
The wait comes before the answer whether the password is right or not, so it tells a guesser
nothing, and it is an asyncio sleep: other clients are not held. A successful login clears the
host's count. The MySQL protocol and HTTP basic auth share one throttle per server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_MAX_HOSTS = 10_000  # hosts remembered before the oldest are forgotten


class LoginThrottle:
    def __init__(self, free: int = 3, max_delay_s: float = 8.0, window_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.free, self.max_delay_s, self.window_s, self._clock = free, max_delay_s, window_s, clock
        self._failures: dict[str, tuple[int, float]] = {}  # host -> (count, time of the last failure)
        self._lock = threading.Lock()

    def delay_for(self, host: str) -> float:
        """Seconds the next login attempt from `host` waits before its answer."""
        with self._lock:
            count, last = self._failures.get(host, (0, 0.0))
            if count and self._clock() - last > self.window_s:
                del self._failures[host]
                count = 0
        if count < self.free:
            return 0.0
        delay = min(2.0 ** (count - self.free), self.max_delay_s)
        log.warning("login from %s delayed %.0f s: %d failed logins in a row", host, delay, count)
        return delay

    def failed(self, host: str) -> None:
        with self._lock:
            count, _ = self._failures.get(host, (0, 0.0))
            self._failures[host] = (count + 1, self._clock())
            if len(self._failures) > _MAX_HOSTS:
                oldest = min(self._failures, key=lambda h: self._failures[h][1])
                del self._failures[oldest]

    def succeeded(self, host: str) -> None:
        with self._lock:
            self._failures.pop(host, None)
