"""Stripe v1 emulator (loopback HTTP, read-only) serving the payments area of the sandbox world.

Auth: `Authorization: Bearer sk_test_sandbox_<brand>` (or HTTP Basic with the key as user name, as Stripe also
accepts) selects the brand's account (`stripe_accounts`); no key or an unknown key gives 401 with Stripe's error
object (the key masked as Stripe masks it). Only the caller's account's objects are visible.

Endpoints (GET): `/v1/{charges,refunds,disputes,balance_transactions,payment_intents,events}` (list) and
`/v1/<resource>/{id}` (retrieve; unknown or other account's id → 404 `resource_missing`, `param: "id"`).
Lists: `{"object": "list", "data": [...], "has_more": bool, "url": "/v1/<resource>"}`, newest first (`created`
desc, ties by id desc); `limit` 1..100 (default 10), `starting_after` / `ending_before` (one of them; unknown id
→ 400 `resource_missing`), `created` / `created[gt|gte|lt|lte]` (Unix seconds), `expand[]` (`data.<field>`, nested
paths allowed: charges `balance_transaction`, `payment_intent`; refunds `balance_transaction`, `charge`,
`payment_intent`; disputes `balance_transactions` (ids → objects), `charge`, `payment_intent`; balance
transactions `source`; payment intents `latest_charge`). `/v1/events` also takes `type` (wildcards such as
`charge.dispute.*`) and `types[]`, and shows the last 30 days before the clock only. Any other query parameter
gives 400 `parameter_unknown` (filters such as `charges?payment_intent=` are not emulated); any other path 404.

State: what exists at the sandbox clock (`meta.as_of`, via `sandbox.world.payments.at_clock`, as `world_at`
defines it), reloaded when meta.json changes. Objects are pre-rendered to JSON bytes per account
(`stripe_world`), so a page costs O(page) when nothing is expanded.

Rate limiting (off by default): `create_app(world_dir, rate_limit_per_second=N)` allows N requests per account
in each one-second window of `clock()` (default `time.monotonic`); beyond that 429 with Stripe's `rate_limit`
error. Also `GET /__stats` (shared counters, `sandbox.emulators.stats`: requests and objects per endpoint, per
status, per account), `POST /__stats`, and the fault injection of `sandbox.emulators.faults` (`/__control`).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.emulators.faults import install as install_faults
from sandbox.emulators.limits import RateLimiter
from sandbox.emulators.stats import Stats
from sandbox.emulators.stripe_errors import (
    StripeError,
    invalid_key,
    missing_key,
    no_such,
    not_expandable,
    rate_limited,
    unrecognized_url,
)
from sandbox.emulators.stripe_params import ListParams, page_bounds, parse_expand, parse_list
from sandbox.emulators.stripe_world import RESOURCES, Listing, RenderCache, StripeWorld
from sandbox.emulators.world_cache import WorldCache

DEFAULT_PORT = 8702
EXPANDABLE: dict[str, frozenset[str]] = {spec.object_name: spec.expandable for spec in RESOURCES.values()}


# --------------------------------------------------------------------------------------------- helpers


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _raw(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _api_key(request: Request) -> str:
    """The secret key of the request (Bearer, or Basic with the key as user name); raises 401 when missing."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and value:
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            value = ""
    elif scheme.lower() != "bearer":
        value = ""
    if not value:
        raise missing_key()
    return value


def _account(world: StripeWorld, request: Request) -> str:
    key = _api_key(request)
    account = world.keys.get(key)
    if account is None:
        raise invalid_key(key)
    return account


def _expand(world: StripeWorld, account: str, obj: dict[str, Any], path: list[str], param: str) -> None:
    """Replace the id(s) at `path` of `obj` by the objects (same account), recursively along the path."""
    name = path[0]
    if name not in EXPANDABLE.get(str(obj.get("object")), frozenset()):
        raise not_expandable(name, param)

    def resolve(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        blob = world.find(account, value)
        return value if blob is None else orjson.loads(blob)

    value = obj.get(name)
    if isinstance(value, list):
        obj[name] = [resolve(v) for v in value]
        children = obj[name]
    else:
        obj[name] = resolve(value)
        children = [obj[name]]
    if len(path) > 1:
        for child in children:
            if isinstance(child, dict):
                _expand(world, account, child, path[1:], param)


def _expanded(world: StripeWorld, account: str, blobs: list[bytes], paths: tuple[str, ...],
              in_list: bool) -> list[dict[str, Any]]:
    """Objects decoded from `blobs` with every `expand` path applied (`data.` prefixed in lists)."""
    objects = [orjson.loads(b) for b in blobs]
    for index, path in enumerate(paths):
        parts = path.split(".")
        param = f"expand[{index}]"
        if in_list:
            if parts[0] != "data" or len(parts) < 2:
                raise not_expandable(parts[0], param)
            parts = parts[1:]
        for obj in objects:
            _expand(world, account, obj, parts, param)
    return objects


def _list_body(url: str, blobs: list[bytes], has_more: bool) -> bytes:
    """A Stripe list object assembled from pre-rendered objects without re-encoding them."""
    more = b"true" if has_more else b"false"
    return (b'{"object":"list","data":[' + b",".join(blobs) + b'],"has_more":' + more
            + b',"url":' + orjson.dumps(url) + b"}")


def _events_listing(full: Listing, params: ListParams) -> Listing:
    return full.of_types(params.types) if params.types else full


# --------------------------------------------------------------------------------------------- the app


def create_app(world_dir: Path, rate_limit_per_second: int | None = None,
               clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The Stripe emulator for the world in `world_dir` (loaded now; re-read when meta.json changes).

    `rate_limit_per_second`: None (default) disables the limiter; `clock` drives its one-second windows.
    """
    render_cache = RenderCache()
    cache = WorldCache(Path(world_dir), lambda path: StripeWorld.load(path, render_cache))
    cache.get()
    stats = Stats()
    limiter = RateLimiter(rate_limit_per_second, clock) if rate_limit_per_second else None

    def authorize(request: Request) -> tuple[StripeWorld, str]:
        world = cache.get()
        account = _account(world, request)
        if limiter is not None and not limiter.allow(account):
            raise rate_limited()
        return world, account

    def list_endpoint(resource: str) -> Callable[[Request], Any]:
        spec = RESOURCES[resource]
        url = f"/v1/{resource}"
        endpoint = f"GET {url}"

        async def handler(request: Request) -> Response:
            account: str | None = None
            try:
                world, account = authorize(request)
                params = parse_list(request.query_params.multi_items(), allow_types=resource == "events")
                full = world.listing(resource, account)
                listing = _events_listing(full, params)
                start, end, has_more = page_bounds(listing, full, params, spec.object_name)
                blobs = listing.blobs_between(start, end)
                if params.expand:
                    data = _expanded(world, account, blobs, params.expand, in_list=True)
                    body = orjson.dumps({"object": "list", "data": data, "has_more": has_more, "url": url})
                else:
                    body = _list_body(url, blobs, has_more)
            except StripeError as exc:
                stats.record(exc.status, endpoint, 0, account)
                return _json(exc.body(), exc.status)
            stats.record(200, endpoint, len(blobs), account)
            return _raw(body)

        return handler

    def retrieve_endpoint(resource: str) -> Callable[[Request], Any]:
        spec = RESOURCES[resource]
        endpoint = f"GET /v1/{resource}/{{id}}"

        async def handler(request: Request) -> Response:
            account: str | None = None
            try:
                world, account = authorize(request)
                expand = parse_expand(request.query_params.multi_items())
                object_id = request.path_params["id"]
                listing = world.listing(resource, account)
                position = listing.position.get(object_id)
                if position is None:
                    raise no_such(spec.object_name, object_id, "id")
                blob = listing.blob(position)
                if expand:
                    blob = orjson.dumps(_expanded(world, account, [blob], expand, in_list=False)[0])
            except StripeError as exc:
                stats.record(exc.status, endpoint, 0, account)
                return _json(exc.body(), exc.status)
            stats.record(200, endpoint, 1, account)
            return _raw(blob)

        return handler

    async def unknown_endpoint(request: Request) -> Response:
        try:
            authorize(request)
            raise unrecognized_url(request.method, request.url.path)
        except StripeError as exc:
            stats.record(exc.status, "other")
            return _json(exc.body(), exc.status)

    routes = []
    for resource in RESOURCES:
        routes.append(Route(f"/v1/{resource}", list_endpoint(resource), methods=["GET"]))
        routes.append(Route(f"/v1/{resource}/{{id}}", retrieve_endpoint(resource), methods=["GET"]))
    routes.append(Route("/v1/{rest:path}", unknown_endpoint,
                        methods=["GET", "POST", "DELETE", "PUT", "PATCH"]))
    app = Starlette(routes=routes)
    app.state.world_cache = cache
    app.state.stats = stats
    install_faults(app, "stripe", Path(world_dir), stats)
    return app
