"""HTTP plumbing of the AfterShip source: a retrying session and pacing on AfterShip's rate-limit headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests import Response

from pipelines.sources.aftership.settings import MAX_ATTEMPTS

MAX_PAUSE_SECONDS = 60.0


def rate_limit_pause(response: Response, now: float | None = None) -> float:
    """Seconds to wait before the next call: until `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0."""
    remaining = response.headers.get("X-RateLimit-Remaining")
    reset = response.headers.get("X-RateLimit-Reset")
    if remaining is None or reset is None or not remaining.strip().isdigit() or int(remaining) > 0:
        return 0.0
    try:
        wait = float(reset) - (time.time() if now is None else now)
    except ValueError:
        return 0.0
    return min(max(wait, 0.0), MAX_PAUSE_SECONDS)


def pace_on_rate_limit(sleep: Callable[[float], None] = time.sleep) -> Callable[..., Response]:
    """A requests response hook that sleeps out an exhausted rate-limit window (429s are retried by the client,
    honouring `Retry-After`)."""

    def hook(response: Response, *_args: Any, **_kwargs: Any) -> Response:
        pause = rate_limit_pause(response)
        if pause > 0:
            sleep(pause)
        return response

    return hook


def api_client(base_url: str, api_version: str, api_key: str) -> RESTClient:
    """A REST client for `<base_url>/tracking/<version>`: key header, retries (429/5xx, `Retry-After`),
    pacing on `X-RateLimit-*` and AfterShip's cursor paging (`data.pagination.next_cursor` → `cursor`)."""
    session = Client(request_max_attempts=MAX_ATTEMPTS, respect_retry_after_header=True).session
    session.hooks["response"].append(pace_on_rate_limit())
    return RESTClient(
        base_url=f"{base_url.rstrip('/')}/tracking/{api_version}",
        headers={"as-api-key": api_key, "Accept": "application/json"},
        session=session,
        paginator=JSONResponseCursorPaginator(cursor_path="data.pagination.next_cursor", cursor_param="cursor"),
        data_selector="data.trackings",
    )
