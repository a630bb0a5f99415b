"""AfterShip Tracking API emulator (version 2026-07, loopback HTTP) serving the sandbox's fulfilment area.

Shapes follow the official SDK `aftership-tracking-sdk` 10.0.1 (`tracking.models`); see
`/work/shared/specs/aftership/README.md`. Default port 8704.

Endpoints (header `as-api-key: <key>`, the one sandbox key of the portfolio: `api_key(world)`):
- `GET /tracking/2026-07/trackings` → `{meta: {code: 200, message}, data: {pagination: {total, next_cursor,
  has_next_page}, trackings: [...]}}`. `limit` 1..200 (default 100), `cursor` and the filters of
  `sandbox.emulators.aftership_query` (ordering, cursor semantics, which parameters are ignored).
- `GET /tracking/2026-07/trackings/{id}` → `{meta, data: <Tracking>}`; unknown id → 404 (meta.code 4004).
  `fields` and `lang` are ignored.
- The emulator is read-only: any other path or method under `/tracking/` is a 404 envelope.
Only what exists at the clock (`sandbox.world.world_at`) is served; the world is re-read when meta.json changes
(`sandbox advance`), see `aftership_world` for the rendering of each tracking.

Errors use AfterShip's envelope `{meta: {code, message, type}, data: {}}`: 401 `Unauthorized` (meta.code 401)
for a missing or wrong key, 400 `BadRequest` (meta.code 4008) for a bad parameter, 404 `NotFound` (4004 for an
unknown tracking id, 404 for an unknown path or another API version), 429 `TooManyRequests` (meta.code 429).

Rate limiting: every API response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(unix seconds at which the current one-second window ends). Windows are per endpoint, as AfterShip counts them
since 2024-07 (its published limits: 6 req/s for the list, 5 req/s by id). With `rate_limit_per_second=N` a
fixed window of one wall-clock second admits N authenticated requests per endpoint and answers the rest with 429
(a 401 is not counted); without it (the default) nothing is refused and the headers report a nominal limit of
`NOMINAL_LIMIT`, so that clients which pace themselves on the headers are not slowed down in the sandbox.

Also: `GET /__stats` (shared counters, `sandbox.emulators.stats`: requests and objects per endpoint), `POST
/__stats`, and the fault injection of `sandbox.emulators.faults` (`/__control`; off by default).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.emulators.aftership_query import QueryError, page
from sandbox.emulators.aftership_world import AfterShipWorld, api_key
from sandbox.emulators.faults import install as install_faults
from sandbox.emulators.stats import Stats
from sandbox.emulators.world_cache import WorldCache

__all__ = ["API_VERSION", "NOMINAL_LIMIT", "RateLimiter", "api_key", "create_app"]

API_VERSION = "2026-07"
BASE_PATH = f"/tracking/{API_VERSION}"
NOMINAL_LIMIT = 1000
STATS_KEY = "portfolio"
UNAUTHORIZED = (401, "Unauthorized", "Invalid API key.")
TRACKING_NOT_FOUND = (4004, "NotFound", "Tracking does not exist.")
PATH_NOT_FOUND = (404, "NotFound", "The URI requested is invalid or the resource requested does not exist.")
TOO_MANY = (429, "TooManyRequests", "You have exceeded the API call rate limit.")
HTTP_STATUS = {4004: 404, 4008: 400}


class RateLimiter:
    """Fixed one-second windows, one per endpoint (as AfterShip counts them since 2024-07); deterministic for a
    given clock, which is injectable for tests."""

    def __init__(self, per_second: int | None, clock: Callable[[], float] = time.time) -> None:
        if per_second is not None and per_second < 1:
            raise ValueError("rate_limit_per_second must be at least 1")
        self.per_second = per_second
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """The limit the headers report."""
        return self.per_second if self.per_second is not None else NOMINAL_LIMIT

    def _current(self, endpoint: str) -> tuple[int, int]:
        """(window start second, requests used in it) for an endpoint."""
        window = math.floor(self._clock())
        start, used = self._windows.get(endpoint, (window, 0))
        return (window, 0) if start != window else (start, used)

    def take(self, endpoint: str) -> tuple[bool, dict[str, str]]:
        """Count one request to `endpoint`: (allowed, rate-limit headers)."""
        with self._lock:
            window, used = self._current(endpoint)
            allowed = self.per_second is None or used < self.per_second
            used += int(allowed)
            self._windows[endpoint] = (window, used)
            return allowed, self._headers(window, used)

    def peek(self, endpoint: str) -> dict[str, str]:
        """The headers of `endpoint` without counting a request."""
        with self._lock:
            return self._headers(*self._current(endpoint))

    def _headers(self, window: int, used: int) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, self.limit - used)),
                "X-RateLimit-Reset": str(window + 1)}


def _json_bytes(body: bytes, status: int, headers: dict[str, str]) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(error: tuple[int, str, str], headers: dict[str, str], status: int | None = None) -> Response:
    """An AfterShip error envelope for (meta.code, meta.type, message)."""
    code, kind, message = error
    body = orjson.dumps({"meta": {"code": code, "message": message, "type": kind}, "data": {}})
    return _json_bytes(body, status or HTTP_STATUS.get(code, code), headers)


def _ok_meta() -> bytes:
    return orjson.dumps({"code": 200, "message": "OK"})


def list_body(world: AfterShipWorld, params: dict[str, str]) -> tuple[bytes, int]:
    """The body of a list response and the number of trackings in it (QueryError on a bad parameter)."""
    result = page(world, params)
    pagination = orjson.dumps({"total": result.total, "next_cursor": result.next_cursor,
                               "has_next_page": result.next_cursor is not None})
    trackings = b",".join(world.rendered[i] for i in result.rows)
    body = (b'{"meta":' + _ok_meta() + b',"data":{"pagination":' + pagination + b',"trackings":['
            + trackings + b"]}}")
    return body, len(result.rows)


def create_app(world_dir: Path, rate_limit_per_second: int | None = None,
               clock: Callable[[], float] = time.time) -> Starlette:
    """The emulator app for the world in `world_dir` (loaded now; re-read when meta.json changes).

    `rate_limit_per_second` turns the limiter on (off by default); `clock` is the limiter's time source.
    """
    cache: WorldCache[AfterShipWorld] = WorldCache(Path(world_dir), AfterShipWorld.load)
    cache.get()
    stats = Stats()
    limiter = RateLimiter(rate_limit_per_second, clock)

    def admit(request: Request, endpoint: str) -> tuple[AfterShipWorld, dict[str, str], Response | None]:
        """Authenticate and rate-limit: the world, the headers, and the error response if refused."""
        world = cache.get()
        if request.headers.get("as-api-key") != world.api_key:
            stats.record_response(401)
            return world, limiter.peek(endpoint), error_response(UNAUTHORIZED, limiter.peek(endpoint))
        allowed, headers = limiter.take(endpoint)
        if not allowed:
            stats.record_response(429, STATS_KEY)
            return world, headers, error_response(TOO_MANY, headers)
        return world, headers, None

    def query_error(exc: QueryError, headers: dict[str, str]) -> Response:
        stats.record_response(400, STATS_KEY)
        return error_response((exc.code, "BadRequest", str(exc)), headers, status=400)

    async def list_trackings(request: Request) -> Response:
        world, headers, refused = admit(request, "GET /trackings")
        if refused is not None:
            return refused
        try:
            body, served = list_body(world, dict(request.query_params))
        except QueryError as exc:
            return query_error(exc, headers)
        stats.record_field(STATS_KEY, "trackings", served)
        stats.record_response(200, STATS_KEY)
        return _json_bytes(body, 200, headers)

    async def get_tracking(request: Request) -> Response:
        world, headers, refused = admit(request, "GET /trackings/:id")
        if refused is not None:
            return refused
        row = world.index.get(request.path_params["tracking_id"])
        if row is None:
            stats.record_response(404, STATS_KEY)
            return error_response(TRACKING_NOT_FOUND, headers)
        stats.record_field(STATS_KEY, "tracking", 1)
        stats.record_response(200, STATS_KEY)
        return _json_bytes(b'{"meta":' + _ok_meta() + b',"data":' + world.rendered[row] + b"}", 200, headers)

    async def not_found(request: Request) -> Response:
        stats.record_response(404)
        return error_response(PATH_NOT_FOUND, limiter.peek(request.url.path))

    app = Starlette(routes=[
        Route(f"{BASE_PATH}/trackings", list_trackings, methods=["GET"]),
        Route(f"{BASE_PATH}/trackings/{{tracking_id}}", get_tracking, methods=["GET"]),
        Route("/tracking/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ])
    app.state.world_cache = cache
    app.state.stats = stats
    app.state.rate_limiter = limiter
    install_faults(app, "aftership", Path(world_dir), stats)
    return app

