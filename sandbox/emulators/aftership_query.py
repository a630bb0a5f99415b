"""Query parameters, filtering and cursor paging of `GET /tracking/2026-07/trackings` (AfterShip emulator).

Order: `updated_at` ascending, then tracking `id` (stable, so an `updated_at_min` walk sees each object once).
Cursors are opaque (base64url of JSON): the position (updated_at, id) of the last object served, the clock at
which the walk started and a fingerprint of the filters. Later pages only serve objects updated at or before
that clock, so a walk that spans a clock move (`sandbox advance`) neither repeats nor reorders objects: what
changed after the walk started is left for the next incremental walk (its `updated_at` is later than anything
this walk served). A cursor used with different filters, or one that cannot be decoded, is a 400.

Filters served: `updated_at_min/max`, `created_at_min/max` (inclusive, ISO 8601; a naive value is UTC),
`tag`, `slug`, `tracking_numbers` (≤ 50), `order_id`, `origin`, `destination`,
`courier_destination_country_region` (comma lists), `transit_time` (exact days), `return_to_sender`
(every sandbox parcel is `false`), `shipment_tags` (sandbox parcels have none, so any value matches nothing),
`keyword` (case-insensitive substring of tracking_number / title / order_id). Ignored: `fields` (full objects
are always returned).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from sandbox.emulators.aftership_world import AfterShipWorld, Columns

DEFAULT_LIMIT = 100
MAX_LIMIT = 200
MAX_TRACKING_NUMBERS = 50
MATCH_CACHE_SIZE = 64
CURSOR_VERSION = 1
LIST_FILTERS = {"tag": "tag", "slug": "slug", "tracking_numbers": "tracking_number", "order_id": "order_id",
                "origin": "origin", "destination": "destination",
                "courier_destination_country_region": "destination"}
TIME_FILTERS = ("updated_at_min", "updated_at_max", "created_at_min", "created_at_max")
TAGS = frozenset({"Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail", "Delivered",
                  "AvailableForPickup", "Exception", "Expired"})


class QueryError(ValueError):
    """A bad query parameter: answered with 400 in the AfterShip envelope (meta.code 4008 unless given)."""

    def __init__(self, message: str, code: int = 4008) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Cursor:
    """Where a walk stands: after (updated, id), for the walk that started at `clock`."""

    updated: int
    id: str
    clock: int
    fingerprint: str


@dataclass(frozen=True)
class Page:
    """One page: served row positions, total matches, and the cursor of the next page (if any)."""

    rows: np.ndarray
    total: int
    next_cursor: str | None


def _parse_time(name: str, value: str) -> float:
    """An ISO 8601 parameter → epoch seconds (naive = UTC; fractions kept, served stamps are whole seconds)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError as exc:
        raise QueryError(f"The value of `{name}` is invalid.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise QueryError("The value of `limit` is invalid.") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"The value of `limit` is invalid. It should be between 1 and {MAX_LIMIT}.")
    return limit


def _split(raw: str) -> tuple[str, ...]:
    return tuple(sorted({v.strip() for v in raw.split(",") if v.strip()}))


def normalize_filters(params: Mapping[str, str]) -> tuple[tuple[str, Any], ...]:
    """The filters of a request as a hashable, canonical tuple (validated)."""
    out: list[tuple[str, Any]] = []
    for name in TIME_FILTERS:
        if params.get(name):
            out.append((name, _parse_time(name, params[name])))
    for name in LIST_FILTERS:
        if params.get(name):
            values = _split(params[name])
            if name == "tag" and not set(values) <= TAGS:
                raise QueryError("The value of `tag` is invalid.")
            if name == "tracking_numbers" and len(values) > MAX_TRACKING_NUMBERS:
                raise QueryError(f"`tracking_numbers` supports up to {MAX_TRACKING_NUMBERS} values.")
            out.append((name, values))
    out.extend(_other_filters(params))
    return tuple(out)


def _other_filters(params: Mapping[str, str]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if params.get("transit_time"):
        try:
            out.append(("transit_time", int(params["transit_time"])))
        except ValueError as exc:
            raise QueryError("The value of `transit_time` is invalid.") from exc
    if params.get("return_to_sender"):
        values = _split(params["return_to_sender"].lower())
        if not set(values) <= {"true", "false"}:
            raise QueryError("The value of `return_to_sender` is invalid.")
        out.append(("return_to_sender", values))
    if params.get("shipment_tags"):
        out.append(("shipment_tags", _split(params["shipment_tags"])))
    if params.get("keyword"):
        out.append(("keyword", params["keyword"].strip().lower()))
    return out


def _fingerprint(filters: tuple[tuple[str, Any], ...]) -> str:
    return hashlib.sha256(orjson.dumps(filters)).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    """An opaque cursor string."""
    raw = orjson.dumps([CURSOR_VERSION, cursor.updated, cursor.id, cursor.clock, cursor.fingerprint])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Read a cursor (QueryError when it is not one of ours)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, updated, tid, clock, fingerprint = orjson.loads(raw)
        if version != CURSOR_VERSION:
            raise ValueError(version)
        return Cursor(int(updated), str(tid), int(clock), str(fingerprint))
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise QueryError("The value of `cursor` is invalid.") from exc


def _mask(columns: Columns, name: str, value: Any) -> np.ndarray | None:
    """Boolean mask of one filter over all rows (None = no restriction)."""
    if name in ("updated_at_min", "created_at_min"):
        return (columns.updated if name.startswith("updated") else columns.created) >= value
    if name in ("updated_at_max", "created_at_max"):
        return (columns.updated if name.startswith("updated") else columns.created) <= value
    if name in LIST_FILTERS:
        return np.isin(getattr(columns, LIST_FILTERS[name]), list(value))
    if name == "transit_time":
        return columns.transit_time == value
    if name == "return_to_sender":
        return np.full(len(columns.ids), "false" in value)
    if name == "shipment_tags":
        return np.zeros(len(columns.ids), dtype=bool)
    if name == "keyword":
        return np.array([value in n.lower() or value in o for n, o in zip(columns.tracking_number,
                                                                           columns.order_id)], dtype=bool)
    return None


def matching_rows(world: AfterShipWorld, filters: tuple[tuple[str, Any], ...], clock: int) -> np.ndarray:
    """Positions (ascending) of the rows matching `filters` and updated at or before `clock` (cached)."""
    key = (filters, clock)
    cached = world.match_cache.get(key)
    if cached is not None:
        return cached
    mask = world.columns.updated <= clock
    for name, value in filters:
        extra = _mask(world.columns, name, value)
        if extra is not None:
            mask &= extra
    rows = np.flatnonzero(mask)
    if len(world.match_cache) >= MATCH_CACHE_SIZE:
        world.match_cache.pop(next(iter(world.match_cache)))
    world.match_cache[key] = rows
    return rows


def _start_after(world: AfterShipWorld, cursor: Cursor) -> int:
    """The first row position strictly after the cursor's (updated, id) in served order."""
    updated = world.columns.updated
    lo = int(np.searchsorted(updated, cursor.updated, side="left"))
    hi = int(np.searchsorted(updated, cursor.updated, side="right"))
    return lo + int(np.searchsorted(world.columns.ids[lo:hi], cursor.id, side="right"))


def page(world: AfterShipWorld, params: Mapping[str, str]) -> Page:
    """Resolve one list request against the world (raises QueryError on a bad parameter)."""
    limit = _parse_limit(params.get("limit"))
    filters = normalize_filters(params)
    fingerprint = _fingerprint(filters)
    cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
    if cursor is not None and cursor.fingerprint != fingerprint:
        raise QueryError("The value of `cursor` is invalid: it belongs to a request with other filters.")
    clock = cursor.clock if cursor is not None else world.as_of
    rows = matching_rows(world, filters, clock)
    start = 0 if cursor is None else int(np.searchsorted(rows, _start_after(world, cursor)))
    served = rows[start:start + limit]
    next_cursor = None
    if start + limit < len(rows):
        last = int(served[-1])
        next_cursor = encode_cursor(Cursor(int(world.columns.updated[last]), str(world.columns.ids[last]),
                                           clock, fingerprint))
    return Page(served, len(rows), next_cursor)
