"""Cheap request counters shared by the emulators (`GET /__stats`, `POST /__stats/reset`)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from typing import Any


class Stats:
    """Counts HTTP responses by status, and per store: requests, plus calls and objects per root field."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._since = time.time()
            self._status: Counter[int] = Counter()
            self._store_requests: Counter[str] = Counter()
            self._calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self._objects: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def record_response(self, status: int, store: str | None = None) -> None:
        """One HTTP response; `store` when it was an authenticated request of that store."""
        with self._lock:
            self._status[status] += 1
            if store is not None:
                self._store_requests[store] += 1

    def record_field(self, store: str, root_field: str, objects: int) -> None:
        """One resolution of a root field that served `objects` objects."""
        with self._lock:
            self._calls[store][root_field] += 1
            self._objects[store][root_field] += objects

    def snapshot(self) -> dict[str, Any]:
        """Everything counted since the last reset, JSON-ready."""
        with self._lock:
            stores = {
                store: {
                    "requests": self._store_requests[store],
                    "objects": sum(self._objects[store].values()),
                    "root_fields": {
                        name: {"calls": self._calls[store][name], "objects": self._objects[store][name]}
                        for name in sorted(self._calls[store])
                    },
                }
                for store in sorted(set(self._store_requests) | set(self._calls))
            }
            return {
                "since": self._since,
                "requests": sum(self._status.values()),
                "by_status": {str(code): n for code, n in sorted(self._status.items())},
                "stores": stores,
            }
