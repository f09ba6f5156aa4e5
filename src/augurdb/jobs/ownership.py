"""Which process runs a catalog's training queue.

With a SQLite catalog one process owns the queue: the one holding an exclusive `flock` on the
lock file next to it. The kernel drops the lock when its holder dies, however it dies (a
zombie holds no files), so a restarted server takes over at once, and a second process
opening the data directory (`augurdb sql`, `augurdb.connect()`) reads and queries but leaves
the server's jobs alone. A PostgreSQL catalog is shared by design: every server takes part,
and the queue's claims keep each run to one of them.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol


class Ownership(Protocol):
    def try_acquire(self) -> bool: ...

    def holder(self) -> str: ...

    def release(self) -> None: ...


class LockFileOwnership:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())  # for the message other processes show
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return f"process {self.path.read_text().strip() or '?'}"
        except OSError:
            return "another process"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class SharedOwnership:
    """Every server on a shared catalog runs jobs; claims decide who runs which."""

    def try_acquire(self) -> bool:
        return True

    def holder(self) -> str:
        return "every server on the catalog"

    def release(self) -> None:
        """Nothing held."""
