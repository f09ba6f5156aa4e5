"""Live connections to the linked databases of one instance, one integration object each.

An integration pools its own connections; this keeps one per catalog record and closes it
when the database is dropped or its parameters change (ALTER DATABASE).
"""

from __future__ import annotations

import threading

from augurdb.catalog.records import IntegrationRecord
from augurdb.integrations.data.base import DataEngine, DataIntegration
from augurdb.integrations.data.registry import get_data_engine


class Sources:
    """Integration objects by database name, made on first use."""

    def __init__(self) -> None:
        self._live: dict[str, tuple[IntegrationRecord, DataIntegration]] = {}
        self._lock = threading.Lock()

    def get(self, record: IntegrationRecord) -> DataIntegration:
        key = record.name.lower()
        with self._lock:
            live = self._live.get(key)
            if live is not None and live[0] == record:
                return live[1]
            if live is not None:
                live[1].close()
            integration = engine_of(record).connect(record.name, record.parameters)
            self._live[key] = (record, integration)
            return integration

    def forget(self, name: str) -> None:
        with self._lock:
            live = self._live.pop(name.lower(), None)
        if live is not None:
            live[1].close()

    def close(self) -> None:
        with self._lock:
            live, self._live = list(self._live.values()), {}
        for _, integration in live:
            integration.close()


def engine_of(record: IntegrationRecord) -> DataEngine:
    return get_data_engine(record.engine)
