"""A cost-aware GraphQL client for the Shopify Admin API.

Every answer carries `extensions.cost` (requested and actual cost, `throttleStatus`). The client
- waits before a call when the shop's bucket (as last reported) cannot pay the cost the same query asked for
  last time, for exactly the points missing divided by the restore rate;
- retries an answer refused with `THROTTLED` (HTTP 200, `errors[].extensions.code`), with tenacity, waiting the
  time the bucket needs to refill to the requested cost, at most `max_attempts` times;
- leaves HTTP 429/5xx retries to dlt's retrying `requests` client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dlt.sources.helpers import requests
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from pipelines.sources.shopify.helpers import ShopifyQueryError

MIN_WAIT_SECONDS = 0.05
MAX_WAIT_SECONDS = 60.0
THROTTLE_ATTEMPTS = 20


class Throttled(Exception):
    """The shop's bucket could not pay for the query; `wait_seconds` is the refill time it needs."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"throttled, retry in {wait_seconds:.2f} s")
        self.wait_seconds = wait_seconds


def refill_seconds(cost: dict[str, Any] | None, needed: float | None = None) -> float:
    """Seconds until the bucket in `cost.throttleStatus` holds `needed` points (default: the requested cost)."""
    if not cost or not cost.get("throttleStatus"):
        return MIN_WAIT_SECONDS
    status = cost["throttleStatus"]
    needed = float(cost.get("requestedQueryCost") or 0) if needed is None else needed
    missing = needed - float(status["currentlyAvailable"])
    rate = float(status.get("restoreRate") or 1.0)
    return min(MAX_WAIT_SECONDS, max(MIN_WAIT_SECONDS, missing / rate)) if missing > 0 else 0.0


def _wait_for_bucket(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return exc.wait_seconds if isinstance(exc, Throttled) else MIN_WAIT_SECONDS


class ShopifyClient:
    """GraphQL calls to one shop, paced by the cost data the shop returns."""

    def __init__(self, url: str, token: str, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = THROTTLE_ATTEMPTS) -> None:
        self.url = url
        self.token = token
        self._sleep = sleep
        self._last_cost: dict[str, dict[str, Any]] = {}  # query text -> its last extensions.cost
        self.throttled = 0
        self.waited_seconds = 0.0
        self._post = retry(retry=retry_if_exception_type(Throttled), wait=_wait_for_bucket,
                           stop=stop_after_attempt(max_attempts), reraise=True,
                           before_sleep=self._count_throttle, sleep=self._sleep)(self._post_once)

    def _count_throttle(self, state: RetryCallState) -> None:
        self.throttled += 1
        self.waited_seconds += state.upcoming_sleep

    def _pace(self, query: str) -> None:
        """Wait until the bucket (as last seen) can pay what this query cost to request last time."""
        last = self._last_cost.get(query)
        wait = refill_seconds(last) if last else 0.0
        if wait > 0:
            self.waited_seconds += wait
            self._sleep(wait)

    def _post_once(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(
            self.url,
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": self.token, "Content-Type": "application/json"},
            timeout=60,
        )
        response.raise_for_status()
        payload = response.json()
        cost = (payload.get("extensions") or {}).get("cost")
        errors = payload.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            if cost:
                self._last_cost[query] = cost
            raise Throttled(refill_seconds(cost))
        if errors:
            messages = "; ".join(str(e.get("message", e)) for e in errors)
            raise ShopifyQueryError(f"Shopify GraphQL error from {self.url}: {messages}")
        if cost:
            self._last_cost[query] = cost
        return payload["data"]

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data` of one call; waits for the bucket first and retries THROTTLED answers."""
        self._pace(query)
        return self._post(query, variables or {})
