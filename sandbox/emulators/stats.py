"""The request counters every emulator shares (`GET /__stats`; `POST /__stats`, `/__stats/reset` or
`POST /__control {"reset_stats": true}` zero them; served by `sandbox.emulators.faults`).

One vocabulary for the four APIs: an *endpoint* is what a client asks for (`GET /v1/charges` for Stripe, the
root field `orders` for Shopify, the resource `conversations` for Re:amaze, `trackings` for AfterShip); a *key*
is the caller's scope (Shopify store, Stripe account, Re:amaze brand, AfterShip `portfolio`). Snapshot:
`{since, requests, objects, by_status, endpoints: {name: {requests, objects}}, stores: {key: {requests, objects,
root_fields: {name: {calls, objects}}}}}`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from typing import Any


class Stats:
    """HTTP responses by status; requests and objects per endpoint, and per key (store/account/brand)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._since = time.time()
            self._status: Counter[int] = Counter()
            self._endpoint_requests: Counter[str] = Counter()
            self._endpoint_objects: Counter[str] = Counter()
            self._store_requests: Counter[str] = Counter()
            self._calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self._objects: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def record(self, status: int, endpoint: str | None = None, objects: int = 0, key: str | None = None) -> None:
        """One HTTP response; of `endpoint`, serving `objects` objects, for the caller `key` when known."""
        with self._lock:
            self._status[status] += 1
            if endpoint is not None:
                self._endpoint_requests[endpoint] += 1
                self._endpoint_objects[endpoint] += objects
            if key is not None:
                self._store_requests[key] += 1
                if endpoint is not None:
                    self._calls[key][endpoint] += 1
                    self._objects[key][endpoint] += objects

    def record_response(self, status: int, store: str | None = None) -> None:
        """One HTTP response whose endpoints were counted with `record_field` (or that reached none)."""
        self.record(status, key=store)

    def record_field(self, store: str, root_field: str, objects: int) -> None:
        """One call of an endpoint within a request (a GraphQL root field) that served `objects` objects."""
        with self._lock:
            self._endpoint_requests[root_field] += 1
            self._endpoint_objects[root_field] += objects
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
                "objects": sum(self._endpoint_objects.values()),
                "by_status": {str(code): n for code, n in sorted(self._status.items())},
                "endpoints": {name: {"requests": self._endpoint_requests[name],
                                     "objects": self._endpoint_objects[name]}
                              for name in sorted(self._endpoint_requests)},
                "stores": stores,
            }
