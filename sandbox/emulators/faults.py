"""Fault injection for the emulators: one ASGI middleware, per-API adapters for error bodies and records.

Off by default. Settings per API (`FaultConfig`, every rate a share 0..1 of requests or records):

| setting | effect |
|---|---|
| `seed` | the seed every decision is drawn from (default 0) |
| `rate_limit` | requests answered 429 with the API's own body, `Retry-After` (and `X-RateLimit-*` for AfterShip) |
| `retry_after` | seconds announced in `Retry-After` (default 1) |
| `server_error` | requests answered 5xx with the API's error shape (retryable) |
| `slow`, `delay_ms` | requests held `delay_ms` milliseconds before they are served |
| `truncate` | responses whose body is cut in half after the full `Content-Length` was promised |
| `duplicates` | follow-up pages that repeat first the last record of the page before (cursors unchanged) |
| `drift_additive` | records that carry an extra unknown field (`ADDITIVE_FIELD`) |
| `drift_breaking` | records whose field changes type (adapter `break_record`: e.g. Stripe `amount` int → object) |

Where settings come from (later wins, key by key): the world's `meta.json` `"faults": {"<api>": {...}}` (what
`leakwatch sandbox generate --defect duplicate_records|schema_drift` writes; re-read within half a second when
meta.json changes), the environment variable `LEAKWATCH_EMULATOR_FAULTS` (JSON of the same shape, read when the
app is created), and the control endpoint of each emulator. `GET /__control` shows the settings, where they
came from and how many faults were injected. `POST /__control` with a JSON object sets settings
(`{"rate_limit": 0.2, "seed": 3}`); `{"reset": true}` drops what was set there (and the counters);
`{"reset_stats": true}` zeroes `/__stats`. `GET /__stats` shows the shared request counters
(`sandbox.emulators.stats`); `POST /__stats` (or `/__stats/reset`) zeroes them.

Determinism: a request-level decision (429, 5xx, delay, truncation) hashes (seed, API, fault, the request's method,
path, query and body, and how many times that same request was seen before): the same request sequence gets the
same faults, and a retried request draws again, so a retrying client gets through. Record-level decisions hash
(seed, API, fault, record id, or the cursor of the page), so every walk of the same world sees the same
duplicates and drift. A duplicate needs the previous page to have been served by this process (a page-walk);
the repeated record is prepended, so the page's cursor (`endCursor`, last id, `next_cursor`, page number) and
hence the paging are unchanged.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from sandbox.emulators.stats import Stats

ENV_VAR = "LEAKWATCH_EMULATOR_FAULTS"
ADDITIVE_FIELD = "x_emulator_drift"
ADDITIVE_VALUE = {"note": "unknown field added by the emulator's additive schema drift"}
CONTROL_PATH = "/__control"
STATS_PATHS = frozenset({"/__stats", "/__stats/reset"})
MEMORY_PAGES = 4096
META_CHECK_SECONDS = 0.5  # meta.json is looked at no more often than this
MAX_SEEN_KEYS = 200_000
INCOMPLETE_MESSAGE = "ASGI callable returned without completing response."

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Record = dict[str, Any]


class FaultSettingError(ValueError):
    """A fault setting that does not exist or has a bad value (answered 400 by `/__control`)."""


@dataclass(frozen=True)
class FaultConfig:
    """One API's fault settings (see the module doc); all zero = off."""

    seed: int = 0
    rate_limit: float = 0.0
    retry_after: float = 1.0
    server_error: float = 0.0
    slow: float = 0.0
    delay_ms: int = 0
    truncate: float = 0.0
    duplicates: float = 0.0
    drift_additive: float = 0.0
    drift_breaking: float = 0.0

    @property
    def request_faults(self) -> bool:
        return bool(self.rate_limit or self.server_error or (self.slow and self.delay_ms) or self.truncate)

    @property
    def record_faults(self) -> bool:
        return bool(self.duplicates or self.drift_additive or self.drift_breaking)

    @property
    def active(self) -> bool:
        return self.request_faults or self.record_faults

    @classmethod
    def updated(cls, base: FaultConfig, settings: dict[str, Any], source: str) -> FaultConfig:
        """`base` with `settings` applied; FaultSettingError names the bad key."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in settings.items():
            if key not in known:
                raise FaultSettingError(f"{source}: unknown fault setting {key!r} (known: {', '.join(known)})")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FaultSettingError(f"{source}: fault setting {key!r} must be a number, got {value!r}")
            if key in {"seed", "delay_ms"}:
                if int(value) != value or value < 0:
                    raise FaultSettingError(f"{source}: fault setting {key!r} must be a whole number >= 0")
                values[key] = int(value)
            elif key == "retry_after":
                if value < 0:
                    raise FaultSettingError(f"{source}: fault setting 'retry_after' must be >= 0")
                values[key] = float(value)
            else:
                if not 0 <= value <= 1:
                    raise FaultSettingError(f"{source}: fault setting {key!r} is a share of requests, 0..1")
                values[key] = float(value)
        return replace(base, **values)


def draw(seed: int, api: str, fault: str, key: str) -> float:
    """A deterministic number in [0, 1) for (seed, api, fault, key)."""
    digest = hashlib.blake2b(f"{seed}|{api}|{fault}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# ------------------------------------------------------------------------------------------- requests, adapters


@dataclass
class RequestInfo:
    """What the middleware and the adapters know of a request."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def json_body(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None


def _record_id(record: Record) -> str:
    for key in ("id", "slug"):
        value = record.get(key)
        if value is not None:
            return str(value)
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


def _as_object(value: Any, **extra: Any) -> Any:
    return {"value": value, **extra}


class Adapter:
    """How one API words its faults and where its records are; subclasses fill in the API's specifics."""

    name = "api"
    error_headers: dict[str, str] = {}

    def rate_limited(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def server_error(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def record_lists(self, body: Any) -> list[list[Any]]:
        """The lists of records of a list response (mutable, in the body)."""
        return []

    def single_records(self, body: Any) -> list[Record]:
        """The record(s) of a single-object response."""
        return []

    def node(self, item: Any) -> Record | None:
        """The record carried by a list item (Shopify edges carry it under `node`)."""
        return item if isinstance(item, dict) else None

    def cursor(self, request: RequestInfo) -> str | None:
        """The cursor (page position) a list request continues from; None for a first page."""
        return None

    def next_cursor(self, request: RequestInfo, body: Any) -> str | None:
        """The cursor the client sends for the page after this one; None on the last page."""
        return None

    def break_record(self, record: Record) -> None:
        """Change the type of one field of `record` (breaking drift)."""
        raise NotImplementedError


def _retry_after(config: FaultConfig) -> str:
    seconds = config.retry_after
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"


class ShopifyAdapter(Adapter):
    """Shopify Admin GraphQL: REST-style `{"errors": "..."}` bodies; records are the nodes/edges of the
    connection(s) under `data`, single `order`/`node`/`nodes` results; MoneyV2 `amount` string → object."""

    name = "shopify"

    def rate_limited(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        return 429, {"Retry-After": _retry_after(config)}, {
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
                      "service."}

    def server_error(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        return 503, {"Retry-After": _retry_after(config)}, {"errors": "Service Unavailable"}

    @staticmethod
    def _connections(body: Any) -> list[dict[str, Any]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return []
        return [v for v in data.values() if isinstance(v, dict) and ("nodes" in v or "edges" in v)]

    def record_lists(self, body: Any) -> list[list[Any]]:
        lists = []
        for conn in self._connections(body):
            lists += [conn[k] for k in ("nodes", "edges") if isinstance(conn.get(k), list)]
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and isinstance(data.get("nodes"), list):
            lists.append(data["nodes"])
        return lists

    def single_records(self, body: Any) -> list[Record]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return []
        return [v for k, v in data.items() if k in {"order", "node"} and isinstance(v, dict)]

    def node(self, item: Any) -> Record | None:
        if isinstance(item, dict) and isinstance(item.get("node"), dict) and "cursor" in item:
            return item["node"]
        return item if isinstance(item, dict) else None

    def cursor(self, request: RequestInfo) -> str | None:
        body = request.json_body()
        if isinstance(body, dict):
            variables = body.get("variables")
            if isinstance(variables, dict) and isinstance(variables.get("after"), str):
                return variables["after"]
            query = body.get("query")
            if isinstance(query, str):
                found = re.search(r'after\s*:\s*"([^"]+)"', query)
                return found.group(1) if found else None
        return None

    def next_cursor(self, request: RequestInfo, body: Any) -> str | None:
        for conn in self._connections(body):
            info = conn.get("pageInfo")
            if isinstance(info, dict) and "hasNextPage" in info and not info["hasNextPage"]:
                return None
            if isinstance(info, dict) and info.get("endCursor"):
                return str(info["endCursor"])
            edges = conn.get("edges")
            if isinstance(edges, list) and edges and isinstance(edges[-1], dict) and edges[-1].get("cursor"):
                return str(edges[-1]["cursor"])
        return None

    def break_record(self, record: Record) -> None:
        if not _break_amounts(record, "currencyCode") and isinstance(record.get("createdAt"), str):
            record["createdAt"] = _as_object(record["createdAt"], zone="UTC")


def _break_amounts(value: Any, currency_key: str) -> bool:
    """Every MoneyV2-like `amount` string under `value` → `{"value": ..., currency_key: ...}`; True if any."""
    changed = False
    if isinstance(value, dict):
        if isinstance(value.get("amount"), str):
            value["amount"] = _as_object(value["amount"], **{currency_key: value.get(currency_key)})
            changed = True
        for child in value.values():
            changed |= _break_amounts(child, currency_key)
    elif isinstance(value, list):
        for child in value:
            changed |= _break_amounts(child, currency_key)
    return changed


class StripeAdapter(Adapter):
    """Stripe v1: `{"error": {...}}` bodies with `Stripe-Should-Retry: true` (what stripe-python obeys);
    records are `data` of a list object; `amount` int → `{"value", "currency"}` (else `created` int → ISO)."""

    name = "stripe"

    def rate_limited(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        from sandbox.emulators.stripe_errors import rate_limited

        error = rate_limited()
        return error.status, {"Retry-After": _retry_after(config), "Stripe-Should-Retry": "true"}, error.body()

    def server_error(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        body = {"error": {"message": "An unknown error occurred", "type": "api_error"}}
        return 500, {"Retry-After": _retry_after(config), "Stripe-Should-Retry": "true"}, body

    def record_lists(self, body: Any) -> list[list[Any]]:
        if isinstance(body, dict) and body.get("object") == "list" and isinstance(body.get("data"), list):
            return [body["data"]]
        return []

    def single_records(self, body: Any) -> list[Record]:
        return [body] if isinstance(body, dict) and "error" not in body and body.get("object") != "list" else []

    def cursor(self, request: RequestInfo) -> str | None:
        return request.param("starting_after")

    def next_cursor(self, request: RequestInfo, body: Any) -> str | None:
        data = body.get("data") if isinstance(body, dict) else None
        if request.param("ending_before") or not body.get("has_more") or not data:
            return None
        return str(data[-1].get("id"))

    def break_record(self, record: Record) -> None:
        if isinstance(record.get("amount"), int):
            record["amount"] = _as_object(record["amount"], currency=record.get("currency"))
        elif isinstance(record.get("created"), int):
            from datetime import UTC, datetime

            record["created"] = datetime.fromtimestamp(record["created"], UTC).isoformat()


_REAMAZE_LISTS = ("conversations", "messages", "contacts", "staff", "response_templates")


class ReamazeAdapter(Adapter):
    """Re:amaze: `{"error": "..."}` bodies; records are the envelope's array; `created_at` string → object."""

    name = "reamaze"

    def rate_limited(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        return 429, {"Retry-After": _retry_after(config)}, {"error": "Too Many Requests"}

    def server_error(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        return 500, {"Retry-After": _retry_after(config)}, {"error": "Internal Server Error"}

    def record_lists(self, body: Any) -> list[list[Any]]:
        if not isinstance(body, dict) or "page_count" not in body:
            return []
        return [body[k] for k in _REAMAZE_LISTS if isinstance(body.get(k), list)]

    def single_records(self, body: Any) -> list[Record]:
        return [body] if isinstance(body, dict) and "page_count" not in body and "error" not in body else []

    def _listing(self, request: RequestInfo) -> str:
        rest = sorted((k, v) for k, v in request.query if k != "page")
        return f"{request.path}?{rest}"

    def cursor(self, request: RequestInfo) -> str | None:
        page = request.param("page")
        if page is None or not page.isdigit() or int(page) < 2:
            return None
        return f"{self._listing(request)}#page={int(page)}"

    def next_cursor(self, request: RequestInfo, body: Any) -> str | None:
        page = request.param("page") or "1"
        if not page.isdigit() or int(page) >= int(body.get("page_count") or 0):
            return None
        return f"{self._listing(request)}#page={int(page) + 1}"

    def break_record(self, record: Record) -> None:
        if isinstance(record.get("created_at"), str):
            record["created_at"] = _as_object(record["created_at"], zone="UTC")


class AfterShipAdapter(Adapter):
    """AfterShip: the `{meta, data}` envelope (429 with `X-RateLimit-*`); records are `data.trackings`;
    `created_at` string → object."""

    name = "aftership"

    def rate_limited(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        headers = {"Retry-After": _retry_after(config), "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Reset": str(int(time.time() + max(config.retry_after, 1)))}
        body = {"meta": {"code": 429, "message": "You have exceeded the API call rate limit.",
                         "type": "TooManyRequests"}, "data": {}}
        return 429, headers, body

    def server_error(self, config: FaultConfig) -> tuple[int, dict[str, str], Any]:
        body = {"meta": {"code": 500, "message": "Something went wrong on AfterShip's end.",
                         "type": "InternalError"}, "data": {}}
        return 500, {"Retry-After": _retry_after(config)}, body

    def record_lists(self, body: Any) -> list[list[Any]]:
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and isinstance(data.get("trackings"), list):
            return [data["trackings"]]
        return []

    def single_records(self, body: Any) -> list[Record]:
        data = body.get("data") if isinstance(body, dict) else None
        return [data] if isinstance(data, dict) and "trackings" not in data and data else []

    def cursor(self, request: RequestInfo) -> str | None:
        return request.param("cursor")

    def next_cursor(self, request: RequestInfo, body: Any) -> str | None:
        pagination = (body.get("data") or {}).get("pagination") or {}
        return pagination.get("next_cursor") if pagination.get("has_next_page") else None

    def break_record(self, record: Record) -> None:
        if isinstance(record.get("created_at"), str):
            record["created_at"] = _as_object(record["created_at"], zone="UTC")


ADAPTERS: dict[str, Adapter] = {a.name: a for a in (ShopifyAdapter(), StripeAdapter(), ReamazeAdapter(),
                                                    AfterShipAdapter())}


# ------------------------------------------------------------------------------------------- the controller


def _env_settings(api: str) -> dict[str, Any]:
    raw = os.environ.get(ENV_VAR)
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FaultSettingError(f"{ENV_VAR} is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise FaultSettingError(f'{ENV_VAR} must be a JSON object {{"<api>": {{...}}}}')
    settings = parsed.get(api, {})
    if not isinstance(settings, dict):
        raise FaultSettingError(f"{ENV_VAR}: the settings of {api!r} must be a JSON object")
    return settings


class Faults:
    """One emulator's fault settings (meta.json < environment < `/__control`) and injection counters."""

    def __init__(self, api: str, world_dir: Path | None = None) -> None:
        self.api = api
        self.adapter = ADAPTERS[api]
        self.world_dir = None if world_dir is None else Path(world_dir)
        self._lock = threading.Lock()
        self._env = _env_settings(api)
        FaultConfig.updated(FaultConfig(), self._env, ENV_VAR)
        self._meta: dict[str, Any] = {}
        self._meta_stamp: tuple[int, int] | None = None
        self._control: dict[str, Any] = {}
        self._config = FaultConfig()
        self.injected: Counter[str] = Counter()
        self._seen: Counter[str] = Counter()
        self._pages: OrderedDict[str, list[Any]] = OrderedDict()
        self._checked = 0.0
        self._refresh(force=True)

    # settings
    def _read_meta(self) -> dict[str, Any]:
        if self.world_dir is None:
            return {}
        try:
            meta = orjson.loads((self.world_dir / "meta.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return self._meta
        settings = (meta.get("faults") or {}).get(self.api, {})
        return settings if isinstance(settings, dict) else {}

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < META_CHECK_SECONDS:
            return
        self._checked = now
        stamp = None
        if self.world_dir is not None:
            try:
                st = (self.world_dir / "meta.json").stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = None
        if not force and stamp == self._meta_stamp:
            return
        with self._lock:
            self._meta_stamp = stamp
            meta = self._read_meta()
            try:
                self._config = self._build(meta, self._control)
                self._meta = meta
            except FaultSettingError:
                logging.getLogger(__name__).warning("ignoring bad faults in %s/meta.json", self.world_dir,
                                                    exc_info=True)
                self._config = self._build({}, self._control)

    def _build(self, meta: dict[str, Any], control: dict[str, Any]) -> FaultConfig:
        config = FaultConfig.updated(FaultConfig(), meta, "meta.json faults")
        config = FaultConfig.updated(config, self._env, ENV_VAR)
        return FaultConfig.updated(config, control, CONTROL_PATH)

    def config(self) -> FaultConfig:
        """The settings in force (re-reads meta.json when it changed)."""
        self._refresh()
        return self._config

    def set(self, settings: dict[str, Any]) -> None:
        """Apply `/__control` settings on top of meta.json and the environment."""
        with self._lock:
            control = {**self._control, **settings}
            self._config = self._build(self._meta, control)
            self._control = control

    def reset(self) -> None:
        """Drop the `/__control` settings, the counters and the page memory."""
        with self._lock:
            self._control = {}
            self._config = self._build(self._meta, {})
            self.injected.clear()
            self._seen.clear()
            self._pages.clear()

    def describe(self) -> dict[str, Any]:
        config = self.config()
        return {"api": self.api, "active": config.active, "faults": asdict(config),
                "sources": {"meta": self._meta, "env": self._env, "control": self._control},
                "injected": dict(sorted(self.injected.items()))}

    # decisions
    def request_draw(self, config: FaultConfig, fault: str, key: str, attempt: int) -> bool:
        rate = getattr(config, fault)
        return bool(rate) and draw(config.seed, self.api, fault, f"{key}#{attempt}") < rate

    def attempt(self, key: str) -> int:
        with self._lock:
            if len(self._seen) > MAX_SEEN_KEYS:
                self._seen.clear()
            n = self._seen[key]
            self._seen[key] = n + 1
            return n

    def count(self, fault: str, n: int = 1) -> None:
        with self._lock:
            self.injected[fault] += n

    def remember_page(self, cursor: str, last_items: list[Any]) -> None:
        with self._lock:
            self._pages[cursor] = last_items
            self._pages.move_to_end(cursor)
            while len(self._pages) > MEMORY_PAGES:
                self._pages.popitem(last=False)

    def page_before(self, cursor: str) -> list[Any] | None:
        with self._lock:
            return self._pages.get(cursor)


# ------------------------------------------------------------------------------------------- the middleware


class _TruncationFilter(logging.Filter):
    """uvicorn reports a response cut on purpose as an error: keep that line out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != INCOMPLETE_MESSAGE


_FILTER = _TruncationFilter()


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[Message, Message]:
    payload = orjson.dumps(body)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return ({"type": "http.response.start", "status": status, "headers": raw_headers},
            {"type": "http.response.body", "body": payload, "more_body": False})


class FaultMiddleware:
    """ASGI middleware: `/__control`, `/__stats`, and the faults of `faults` around the wrapped app."""

    def __init__(self, app: ASGIApp, faults: Faults, stats: Stats) -> None:
        self.app = app
        self.faults = faults
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == CONTROL_PATH or path in STATS_PATHS:
            await self._admin(scope, receive, send)
            return
        config = self.faults.config()
        if not config.active:
            await self.app(scope, receive, send)
            return
        await self._faulty(config, scope, receive, send)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        body = await _read_body(receive)
        if path == CONTROL_PATH and method == "GET":
            await _send_all(send, *_json_response(200, self.faults.describe()))
        elif path == CONTROL_PATH and method == "POST":
            try:
                settings = orjson.loads(body) if body.strip() else {}
                if not isinstance(settings, dict):
                    raise FaultSettingError("POST /__control wants a JSON object")
                settings = dict(settings)
                reset, reset_stats = bool(settings.pop("reset", False)), bool(settings.pop("reset_stats", False))
                if reset:
                    self.faults.reset()
                if settings:
                    self.faults.set(settings)
                if reset_stats:
                    self.stats.reset()
            except (orjson.JSONDecodeError, FaultSettingError) as exc:
                await _send_all(send, *_json_response(400, {"error": str(exc)}))
                return
            await _send_all(send, *_json_response(200, self.faults.describe()))
        elif path == "/__stats" and method == "GET":
            snapshot = self.stats.snapshot()
            snapshot["faults"] = dict(sorted(self.faults.injected.items()))
            # which world this emulator serves: a run checks it before reading from an emulator it did not start
            snapshot["world"] = None if self.faults.world_dir is None else str(self.faults.world_dir.resolve())
            await _send_all(send, *_json_response(200, snapshot))
        elif method == "POST":
            self.stats.reset()
            await _send_all(send, *_json_response(200, {"ok": True}))
        else:
            await _send_all(send, *_json_response(405, {"error": "Method Not Allowed"}))

    async def _faulty(self, config: FaultConfig, scope: Scope, receive: Receive, send: Send) -> None:
        faults, adapter = self.faults, self.faults.adapter
        body = await _read_body(receive)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        request = RequestInfo(scope["method"], scope["path"], query, body)
        key = f"{request.method} {request.path}?{scope.get('query_string', b'').decode('latin-1')}|" + (
            hashlib.blake2b(body, digest_size=8).hexdigest() if body else "")
        attempt = faults.attempt(key) if config.request_faults else 0
        for fault, make in (("rate_limit", adapter.rate_limited), ("server_error", adapter.server_error)):
            if faults.request_draw(config, fault, key, attempt):
                faults.count(fault)
                status, headers, error = make(config)
                self.stats.record(status)
                await _send_all(send, *_json_response(status, error, headers))
                return
        if config.delay_ms and faults.request_draw(config, "slow", key, attempt):
            faults.count("slow")
            await asyncio.sleep(config.delay_ms / 1000)
        truncate = faults.request_draw(config, "truncate", key, attempt)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        assert start is not None
        payload = b"".join(chunks)
        if config.record_faults and start["status"] == 200:
            payload = self._record_faults(config, request, payload)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({**start, "headers": headers})
        if truncate and len(payload) > 1:
            faults.count("truncate")
            logging.getLogger("uvicorn.error").addFilter(_FILTER)
            await send({"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True})
            return  # the server closes the connection: the client sees a body shorter than promised
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    def _record_faults(self, config: FaultConfig, request: RequestInfo, payload: bytes) -> bytes:
        faults, adapter = self.faults, self.faults.adapter
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return payload
        lists = adapter.record_lists(body)
        changed = False
        if config.duplicates and lists:
            nxt = adapter.next_cursor(request, body)
            if nxt is not None:
                faults.remember_page(f"{request.path}|{nxt}",
                                     [copy.deepcopy(items[-1]) if items else None for items in lists])
            cursor = adapter.cursor(request)
            before = None if cursor is None else faults.page_before(f"{request.path}|{cursor}")
            if before is not None and draw(config.seed, faults.api, "duplicates", cursor) < config.duplicates:
                for items, repeated in zip(lists, before, strict=False):
                    if repeated is not None:
                        items.insert(0, copy.deepcopy(repeated))
                faults.count("duplicates")
                changed = True
        records = [adapter.node(item) for items in lists for item in items] + adapter.single_records(body)
        seen: set[int] = set()
        for record in records:
            if record is None or id(record) in seen:
                continue
            seen.add(id(record))
            rid = _record_id(record)
            if config.drift_additive and draw(config.seed, faults.api, "drift_additive", rid) < config.drift_additive:
                record[ADDITIVE_FIELD] = dict(ADDITIVE_VALUE)
                faults.count("drift_additive")
                changed = True
            if config.drift_breaking and draw(config.seed, faults.api, "drift_breaking", rid) < config.drift_breaking:
                adapter.break_record(record)
                faults.count("drift_breaking")
                changed = True
        return orjson.dumps(body) if changed else payload


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(parts)


async def _send_all(send: Send, *messages: Message) -> None:
    for message in messages:
        await send(message)


def install(app: Any, api: str, world_dir: Path | None, stats: Stats) -> Faults:
    """Wrap a Starlette `app` in the fault middleware of `api` (settings from `world_dir`'s meta.json, the
    environment and `/__control`); also serves `/__stats`. Returns the controller (also `app.state.faults`)."""
    faults = Faults(api, world_dir)
    app.add_middleware(FaultMiddleware, faults=faults, stats=stats)
    app.state.faults = faults
    return faults
