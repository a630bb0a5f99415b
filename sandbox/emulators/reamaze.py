"""Re:amaze API v1 emulator (loopback HTTP) serving the support area of the sandbox world.

Reference: the API digest `/work/shared/specs/reamaze/README.md` (Re:amaze publishes no machine-readable spec).
Base path per brand: `/brands/{brand}/api/v1/` where `{brand}` is the brand of the support tables lower-cased
(`lumen`, `threadline`, `hearth`; the real API's `https://{brand}.reamaze.io/api/v1/`).

Every request (checked in this order):
- unknown brand -> 404; HTTP Basic auth with the login e-mail of one of *that brand's* staff users (case-insensitive)
  and that user's `api_token`, else 401 (`WWW-Authenticate: Basic`); the header `Accept` must name
  `application/json` (the digest says it is required: a missing header or only `*/*` gives 406); with the
  optional limiter on, more than `rate_limit_per_second` requests of a brand within one second of the limiter's
  clock -> 429 (no reset header: the digest publishes none).

Endpoints (all GET, state at the clock `meta.as_of` via `world_at`, re-read when meta.json changes):
- `/conversations`: default unarchived only. `filter`: `archived` (status 2 Resolved, 3 Spam, 4 Archived,
  6 Auto-resolved, 8 Chatbot resolved: out of the inbox), `open` (status 0), `unassigned` (unarchived, no
  assignee), `all`. `for` (e-mail) / `for_id` (id): conversations whose author contact or assignee staff user is
  that user. `sort`: `updated` (last customer message, newest first), `changed` (last message or status change,
  newest first), default creation time newest first; ties by creation order, newest first. `tag`: comma
  separated, a conversation matches when it carries any of them. `category`: the category slug.
  `start_date` / `end_date`: on `created_at`, both inclusive (ISO 8601; without an offset UTC, a date is
  midnight).
- `/conversations/{slug}`: the conversation object (404 if unknown to the brand at the clock).
- `/conversations/{slug}/messages` and `/messages`: newest first, the leaks area's internal notes (visibility 1,
  staff user, `approved_by:` escalations) among them; `filter` (`staff` = `user.staff?` true,
  `customer`), `start_date` / `end_date` on `created_at` as above.
- `/contacts` (newest first), `/staff` (by id), `/response_templates` (by id), `/response_templates/{id}`.
Lists: `{"page_size": 30, "page_count": ceil(total/30), "total_count": total, "<resource>": [...]}`, `page`
1-based; a page past the end gives an empty array (200). Invalid parameter values (unknown filter or sort, bad
date, page < 1) give 422 `{"error": "..."}`; errors are `{"error": "..."}`. A conversation also carries
`last_customer_message` (`body`, `created_at`; named by the digest), never `updated_at` (the digest's example has
none). Writes and the reporting endpoints are not emulated: any other path or method gives 404.

Also: `GET /__stats` (shared counters, `sandbox.emulators.stats`: per resource and brand), `POST /__stats`,
and the fault injection of `sandbox.emulators.faults` (`/__control`; off by default).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.emulators.faults import install as install_faults
from sandbox.emulators.limits import RateLimiter
from sandbox.emulators.reamaze_query import (
    QueryError,
    parse_conversation_query,
    parse_message_query,
    parse_page,
)
from sandbox.emulators.reamaze_world import BrandData, ReamazeWorld
from sandbox.emulators.stats import Stats
from sandbox.emulators.world_cache import WorldCache

PAGE_SIZE = 30
API_PREFIX = "/brands/{brand}/api/v1"
Builder = Callable[[Request, BrandData], tuple[bytes, int]]


class NotFound(LookupError):
    """An unknown conversation slug or object id (answered with 404)."""


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": message}, status, headers)


def _raw(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def page_body(resource: str, items: list[bytes], positions: np.ndarray | range, page: int) -> bytes:
    """The digest's list envelope for page `page` of the objects at `positions` (pre-rendered `items`)."""
    total = len(positions)
    chunk = positions[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    head = b'{"page_size":%d,"page_count":%d,"total_count":%d,"%s":[' % (
        PAGE_SIZE, -(-total // PAGE_SIZE), total, resource.encode())
    return head + b",".join([items[i] for i in chunk]) + b"]}"


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic `Authorization` header, None when absent or malformed."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authorized(brand: BrandData, header: str | None) -> bool:
    """True when the Basic credentials are one of the brand's staff e-mails with its API token."""
    credentials = _basic_credentials(header)
    if credentials is None:
        return False
    token = brand.credentials.get(credentials[0].strip().lower())
    return token is not None and credentials[1] == token


def accepts_json(header: str | None) -> bool:
    """True when the `Accept` header names `application/json` explicitly (wildcards are not enough)."""
    if not header:
        return False
    return any(part.split(";")[0].strip().lower() == "application/json" for part in header.split(","))


# ------------------------------------------------------------------------------------------ resources


def list_conversations(request: Request, brand: BrandData) -> tuple[bytes, int]:
    """`GET /conversations`: the page body and the number of objects on it."""
    params = request.query_params
    positions = brand.select_conversations(parse_conversation_query(params))
    return _page("conversations", brand.conversations.json, positions, parse_page(params))


def _page(resource: str, items: list[bytes], positions: np.ndarray | range, page: int) -> tuple[bytes, int]:
    served = max(0, min(PAGE_SIZE, len(positions) - (page - 1) * PAGE_SIZE))
    return page_body(resource, items, positions, page), served


def list_messages(request: Request, brand: BrandData, slug: str | None = None) -> tuple[bytes, int]:
    """`GET /messages` or `GET /conversations/{slug}/messages`."""
    params = request.query_params
    positions = brand.select_messages(parse_message_query(params), slug)
    return _page("messages", brand.messages.json, positions, parse_page(params))


def _static_list(resource: str, pick: Callable[[BrandData], list[bytes]]) -> Builder:
    """A builder paging through a brand's pre-rendered list (`pick` reads the brand of the current clock)."""
    def build(request: Request, brand: BrandData) -> tuple[bytes, int]:
        items = pick(brand)
        return _page(resource, items, range(len(items)), parse_page(request.query_params))
    return build


class Api:
    """The request pipeline: world, brand, auth, Accept, limiter, then the resource; counts everything."""

    def __init__(self, cache: WorldCache[ReamazeWorld], stats: Stats, limiter: RateLimiter | None) -> None:
        self.cache = cache
        self.stats = stats
        self.limiter = limiter

    def guard(self, request: Request) -> BrandData | Response:
        """The brand of an acceptable request, or the error response to send."""
        brand = self.cache.get().brands.get(request.path_params["brand"])
        if brand is None:
            return _error(404, "Not Found")
        if not authorized(brand, request.headers.get("authorization")):
            return _error(401, "Unauthorized: use a staff login e-mail and its API token (HTTP Basic)",
                          {"WWW-Authenticate": 'Basic realm="Re:amaze API"'})
        if not accepts_json(request.headers.get("accept")):
            return _error(406, "Not Acceptable: send Accept: application/json")
        if self.limiter is not None and not self.limiter.allow(brand.handle):
            return _error(429, "Too Many Requests")
        return brand

    def listing(self, resource: str, build: Builder) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint serving a list envelope."""
        async def endpoint(request: Request) -> Response:
            brand = self.guard(request)
            if isinstance(brand, Response):
                return self._finish(brand)
            try:
                body, served = build(request, brand)
            except (QueryError, NotFound) as exc:
                return self._finish(_query_error(exc), brand.handle)
            self.stats.record_field(brand.handle, resource, served)
            return self._finish(_raw(body), brand.handle)
        return endpoint

    def single(self, resource: str,
               find: Callable[[Request, BrandData], bytes | None]) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint serving one object (404 when `find` gives None)."""
        async def endpoint(request: Request) -> Response:
            brand = self.guard(request)
            if isinstance(brand, Response):
                return self._finish(brand)
            body = find(request, brand)
            if body is None:
                return self._finish(_error(404, "Not Found"), brand.handle)
            self.stats.record_field(brand.handle, resource, 1)
            return self._finish(_raw(body), brand.handle)
        return endpoint

    def _finish(self, response: Response, handle: str | None = None) -> Response:
        self.stats.record_response(response.status_code, handle)
        return response


def _query_error(exc: Exception) -> Response:
    """422 for a bad parameter, 404 for an unknown conversation."""
    if isinstance(exc, QueryError):
        return _error(422, str(exc))
    return _error(404, "Not Found")


def _conversation(request: Request, brand: BrandData) -> bytes | None:
    position = brand.conversations.position.get(request.path_params["slug"])
    return None if position is None else brand.conversations.json[position]


def _template(request: Request, brand: BrandData) -> bytes | None:
    raw = request.path_params["template_id"]
    return brand.template_by_id.get(int(raw)) if raw.isdigit() else None


def _conversation_messages(request: Request, brand: BrandData) -> tuple[bytes, int]:
    slug = request.path_params["slug"]
    if slug not in brand.conversations.position:
        raise NotFound(slug)
    return list_messages(request, brand, slug)


def _routes(api: Api) -> list[Route]:
    """Every Re:amaze route of the emulator."""
    return [
        Route(f"{API_PREFIX}/conversations", api.listing("conversations", list_conversations)),
        Route(f"{API_PREFIX}/conversations/{{slug}}", api.single("conversation", _conversation)),
        Route(f"{API_PREFIX}/conversations/{{slug}}/messages", api.listing("messages", _conversation_messages)),
        Route(f"{API_PREFIX}/messages", api.listing("messages", list_messages)),
        Route(f"{API_PREFIX}/contacts", api.listing("contacts", _static_list("contacts", lambda b: b.contacts))),
        Route(f"{API_PREFIX}/staff", api.listing("staff", _static_list("staff", lambda b: b.staff))),
        Route(f"{API_PREFIX}/response_templates",
              api.listing("response_templates", _static_list("response_templates", lambda b: b.templates))),
        Route(f"{API_PREFIX}/response_templates/{{template_id}}", api.single("response_template", _template)),
    ]


def create_app(world_dir: Path, rate_limit_per_second: int | None = None,
               clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The Re:amaze emulator for the world in `world_dir` (loaded now; re-read when meta.json changes).

    `rate_limit_per_second` turns on the deterministic limiter (per brand, fixed one-second windows of `clock`).
    """
    cache = WorldCache(Path(world_dir), ReamazeWorld.load)
    cache.get()
    stats = Stats()
    limiter = RateLimiter(rate_limit_per_second, clock) if rate_limit_per_second else None
    api = Api(cache, stats, limiter)

    async def not_found(_request: Request) -> Response:
        stats.record_response(404)
        return _error(404, "Not Found")

    app = Starlette(routes=[
        *_routes(api),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ])
    app.state.world_cache = cache
    app.state.stats = stats
    app.state.limiter = limiter
    install_faults(app, "reamaze", Path(world_dir), stats)
    return app
