"""The Stripe world as the emulator serves it: per account and resource, objects pre-rendered to JSON bytes.

`StripeWorld.load(world_dir)` reads `world/payments/*.parquet` and `meta.json` and takes the state at the clock with
`sandbox.world.payments.at_clock` (exactly what `world_at(load_world(dir)).areas["payments"]` computes, without
reading the Shopify tables). Each resource (charges, refunds, …) gets, on first use, per account, its objects
sorted newest first (`created` desc, ties by id desc) with their `created` seconds; each object's orjson bytes are
rendered with the `render_*` functions of `sandbox.world.payments` when first served (a page renders its missing
objects in one batch) or by a warm-up thread started after the load, and kept, so that a page costs O(page). A
`RenderCache` carries the bytes across reloads: after a clock move only new or changed objects are rendered again.
Events keep a 30-day retention relative to the clock, and their `data.object` is the object as of the event's
`created` (charge refunds/disputes and dispute status replayed to that instant).
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from sandbox.world import payments

EVENT_RETENTION = pd.Timedelta(days=30)
WARM_UP_CHUNK = 200


@dataclass(frozen=True)
class ResourceSpec:
    """How one list endpoint maps onto a table of the payments area."""

    name: str  # URL segment, e.g. "charges"
    object_name: str  # Stripe `object`, e.g. "charge"
    table: str
    id_column: str
    render: Callable[..., dict[str, Any]]  # row -> object (events: row, data.object -> object)
    expandable: frozenset[str]


RESOURCES: dict[str, ResourceSpec] = {spec.name: spec for spec in (
    ResourceSpec("charges", "charge", "charges", "charge_id", payments.render_charge,
                 frozenset({"balance_transaction", "payment_intent"})),
    ResourceSpec("refunds", "refund", "stripe_refunds", "refund_id", payments.render_refund,
                 frozenset({"balance_transaction", "charge", "payment_intent"})),
    ResourceSpec("disputes", "dispute", "disputes", "dispute_id", payments.render_dispute,
                 frozenset({"balance_transactions", "charge", "payment_intent"})),
    ResourceSpec("balance_transactions", "balance_transaction", "balance_transactions", "balance_transaction_id",
                 payments.render_balance_transaction, frozenset({"source"})),
    ResourceSpec("payment_intents", "payment_intent", "payment_intents", "payment_intent_id",
                 payments.render_payment_intent, frozenset({"latest_charge"})),
    ResourceSpec("events", "event", "events", "event_id", payments.render_event, frozenset()),
)}

# id prefix -> resource holding objects with that id (for expansion)
ID_PREFIXES: dict[str, str] = {"ch_": "charges", "re_": "refunds", "du_": "disputes",
                               "txn_": "balance_transactions", "pi_": "payment_intents", "evt_": "events"}


Renderer = Callable[[list[int]], list[bytes]]


def _nothing_to_render(positions: list[int]) -> list[bytes]:
    raise LookupError(f"no renderer for positions {positions[:3]}")


@dataclass
class Listing:
    """One account's objects of one resource, newest first, with their `created` and JSON bytes.

    An object's bytes are rendered on first access (`blobs_between`, `blob`) by `fill` (positions → bytes) unless
    they were known already (from the render cache); the warm-up thread fills the rest in the background.
    """

    ids: list[str]
    created: np.ndarray  # int64 Unix seconds, non-increasing
    position: dict[str, int]
    types: np.ndarray | None = None  # events only: the event type of each object
    fill: Renderer = _nothing_to_render
    _blobs: list[bytes | None] = field(default_factory=list, repr=False)
    _neg_created: np.ndarray = field(init=False, repr=False)
    _by_type: dict[tuple[str, ...], Listing] = field(default_factory=dict, repr=False)
    _render_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._neg_created = -self.created
        if len(self._blobs) != len(self.ids):
            self._blobs = [None] * len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def blobs_at(self, positions: list[int]) -> list[bytes]:
        """The JSON bytes of the objects at `positions`, rendering the missing ones (in one batch)."""
        blobs = self._blobs
        if any(blobs[p] is None for p in positions):
            with self._render_lock:  # the warm-up thread and requests never render the same object twice
                missing = [p for p in positions if blobs[p] is None]
                if missing:
                    for p, blob in zip(missing, self.fill(missing)):
                        blobs[p] = blob
        return [blobs[p] for p in positions]  # type: ignore[misc]

    def blobs_between(self, start: int, end: int) -> list[bytes]:
        """The JSON bytes of positions [start, end) (clipped to the listing)."""
        end = min(end, len(self._blobs))
        chunk = self._blobs[start:end]
        if any(b is None for b in chunk):
            return self.blobs_at(list(range(start, end)))
        return chunk  # type: ignore[return-value]

    def blob(self, position: int) -> bytes:
        """The JSON bytes of one object."""
        return self.blobs_at([position])[0]

    def created_range(self, bounds: dict[str, int]) -> tuple[int, int]:
        """Positions [lo, hi) of the objects whose `created` satisfies every bound (gt, gte, lt, lte)."""
        lo, hi = 0, len(self.ids)
        neg = self._neg_created
        if "lte" in bounds:
            lo = max(lo, int(np.searchsorted(neg, -bounds["lte"], side="left")))
        if "lt" in bounds:
            lo = max(lo, int(np.searchsorted(neg, -bounds["lt"], side="right")))
        if "gte" in bounds:
            hi = min(hi, int(np.searchsorted(neg, -bounds["gte"], side="right")))
        if "gt" in bounds:
            hi = min(hi, int(np.searchsorted(neg, -bounds["gt"], side="left")))
        return lo, max(lo, hi)

    def of_types(self, patterns: tuple[str, ...]) -> Listing:
        """The sub-listing of events whose type matches one of `patterns` (`*` wildcards allowed); cached.

        It shares this listing's bytes (rendered once, through this listing).
        """
        cached = self._by_type.get(patterns)
        if cached is not None:
            return cached
        types = self.types if self.types is not None else np.array([], dtype=object)
        keep = np.array([any(fnmatch.fnmatchcase(t, p) for p in patterns) for t in types], dtype=bool)
        picked = np.flatnonzero(keep)

        def fill(positions: list[int]) -> list[bytes]:
            return self.blobs_at([int(picked[p]) for p in positions])

        sub = _listing([self.ids[i] for i in picked], self.created[picked], fill, types[picked])
        self._by_type[patterns] = sub
        return sub


def _listing(ids: list[str], created: np.ndarray, fill: Renderer = _nothing_to_render,
             types: np.ndarray | None = None, blobs: list[bytes | None] | None = None) -> Listing:
    return Listing(ids=ids, created=np.asarray(created, dtype=np.int64),
                   position={object_id: i for i, object_id in enumerate(ids)}, types=types, fill=fill,
                   _blobs=blobs if blobs is not None else [])


def _seconds(created_at: pd.Series) -> np.ndarray:
    """Unix seconds (floored, as `render_*` does) of a tz-aware timestamp column."""
    micros = pd.to_datetime(created_at, utc=True).dt.as_unit("us").astype("int64").to_numpy()
    return micros // 1_000_000


def _newest_first(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Rows ordered by (created seconds, id) descending."""
    keyed = frame.assign(_created_s=_seconds(frame["created_at"]), _id=frame[id_column].astype(str))
    keyed = keyed.sort_values(["_created_s", "_id"], ascending=False, kind="stable")
    return keyed.reset_index(drop=True)


def _row_keys(frame: pd.DataFrame, id_column: str) -> list[tuple[str, int]]:
    """(id, 64-bit hash of every column) per row: the same key means the same rendered object."""
    hashable = frame.apply(lambda col: col.astype(str) if col.dtype == object else col)
    hashes = pd.util.hash_pandas_object(hashable, index=False).to_numpy()
    return list(zip(frame[id_column].astype(str).tolist(), hashes.tolist()))


class RenderCache:
    """Rendered objects kept across reloads of the world (a clock move re-renders only what changed).

    Keyed per resource by (id, row hash) for clock-dependent objects, by id alone for events (an event's
    `data.object` is its state at the event's own time, which a later clock does not change). Each `lookup`
    starts a new generation holding only the entries that build found, so the cache does not outgrow one world
    (plus what gets rendered into it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, dict[Any, bytes]] = {}

    def lookup(self, resource: str, keys: list[Any]) -> list[bytes | None]:
        """The cached bytes for `keys` (None where unknown); keeps only these entries for the resource."""
        with self._lock:
            known = self._blobs.get(resource, {})
            found = [known.get(key) for key in keys]
            self._blobs[resource] = {k: b for k, b in zip(keys, found) if b is not None}
        return found

    def store(self, resource: str, keys: list[Any], blobs: list[bytes]) -> None:
        """Remember freshly rendered bytes."""
        with self._lock:
            self._blobs.setdefault(resource, {}).update(zip(keys, blobs))


def _render_rows(frame: pd.DataFrame, render: Callable[[Any], dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(render(row)) for row in frame.itertuples(index=False)]


def _split_accounts(frame: pd.DataFrame, id_column: str, known: list[bytes | None],
                    render_rows: Renderer) -> dict[str, Listing]:
    """Per account_id, the listing of the (already newest-first) rows of `frame`.

    `known` holds the bytes already rendered per row of `frame`; `render_rows` renders rows of `frame`.
    """
    out: dict[str, Listing] = {}
    accounts = frame["account_id"].astype(str).to_numpy()
    ids = frame[id_column].astype(str).to_numpy()
    created = frame["_created_s"].to_numpy()
    types = frame["type"].astype(str).to_numpy() if "type" in frame and id_column == "event_id" else None
    for account in pd.unique(accounts):
        rows = np.flatnonzero(accounts == account)

        def fill(positions: list[int], rows: np.ndarray = rows) -> list[bytes]:
            return render_rows(rows[positions].tolist())

        out[str(account)] = _listing(ids[rows].tolist(), created[rows], fill,
                                     None if types is None else types[rows], [known[i] for i in rows])
    return out


# --------------------------------------------------------------------------------------------- events


def _charges_as_of(charges: pd.DataFrame, refunds: pd.DataFrame, disputes: pd.DataFrame, charge_ids: pd.Series,
                   times: pd.Series) -> pd.DataFrame:
    """Charge rows, one per event, with amount_refunded / refunded / disputed replayed to each event's time.

    `charge_ids` and `times` share a RangeIndex.
    """
    rows = charges.set_index("charge_id").loc[charge_ids.to_numpy()].reset_index()
    key = pd.DataFrame({"k": np.arange(len(rows)), "charge_id": charge_ids.to_numpy(), "t": times})
    hits = key.merge(refunds[["charge_id", "amount_cents", "created_at"]], on="charge_id")
    hits = hits[hits["created_at"] <= hits["t"]]
    refunded = hits.groupby("k")["amount_cents"].sum().reindex(key["k"], fill_value=0).to_numpy()
    rows["amount_refunded_cents"] = refunded.astype(np.int64)
    rows["refunded"] = (rows["amount_refunded_cents"] >= rows["amount_cents"]) & (rows["status"] == "succeeded")
    opened = key.merge(disputes[["charge_id", "created_at"]], on="charge_id")
    opened = opened[opened["created_at"] <= opened["t"]]
    rows["disputed"] = key["k"].isin(opened["k"]).to_numpy()
    return rows


def _disputes_as_of(disputes: pd.DataFrame, bts: pd.DataFrame, dispute_ids: pd.Series,
                    times: pd.Series) -> pd.DataFrame:
    """Dispute rows (one per event) with status and balance transactions as of each event's time."""
    rows = disputes.set_index("dispute_id").loc[dispute_ids.to_numpy()].reset_index()
    rows = payments.dispute_state(rows, times)
    key = pd.DataFrame({"k": np.arange(len(rows)), "dispute_id": dispute_ids.to_numpy(), "t": times})
    hits = key.merge(bts.dropna(subset=["dispute_id"])[["dispute_id", "balance_transaction_id", "created_at"]],
                     on="dispute_id")
    hits = hits[hits["created_at"] <= hits["t"]].sort_values(["k", "created_at"], kind="stable")
    per = hits.groupby("k")["balance_transaction_id"].agg(list)
    rows["balance_transaction_ids"] = [list(per.get(k, [])) for k in range(len(rows))]
    return rows


def _render_events(state: dict[str, pd.DataFrame], events: pd.DataFrame) -> list[bytes]:
    """Each event (newest-first frame) with `data.object` rendered as of the event's `created`."""
    objects: list[dict[str, Any] | None] = [None] * len(events)
    is_charge = (events["object_type"] == "charge").to_numpy()
    for mask, build, render in (
        (is_charge, lambda ids, t: _charges_as_of(state["charges"], state["stripe_refunds"], state["disputes"],
                                                  ids, t), payments.render_charge),
        (~is_charge, lambda ids, t: _disputes_as_of(state["disputes"], state["balance_transactions"], ids, t),
         payments.render_dispute),
    ):
        picked = np.flatnonzero(mask)
        if picked.size == 0:
            continue
        sub = events.iloc[picked]
        rows = build(sub["object_id"].reset_index(drop=True), sub["created_at"].reset_index(drop=True))
        for position, row in zip(picked, rows.itertuples(index=False)):
            objects[position] = render(row)
    return [orjson.dumps(payments.render_event(row, obj))
            for row, obj in zip(events.itertuples(index=False), objects)]


# --------------------------------------------------------------------------------------------- the snapshot


@dataclass
class StripeWorld:
    """The payments area at one clock, with lazily built per-account listings of every resource."""

    clock: pd.Timestamp
    state: dict[str, pd.DataFrame]
    keys: dict[str, str]  # secret key -> account_id
    _listings: dict[str, dict[str, Listing]] = field(default_factory=dict, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)

    render_cache: RenderCache = field(default_factory=RenderCache, repr=False)

    @classmethod
    def load(cls, world_dir: Path, render_cache: RenderCache | None = None) -> StripeWorld:
        """Read the payments tables and take their state at the clock of `meta.json`; warm up in the background.

        Pass the `render_cache` of the previous load to re-render only the objects that changed.
        """
        world_dir = Path(world_dir)
        meta = json.loads((world_dir / "meta.json").read_text())
        tables = {path.stem: pd.read_parquet(path) for path in sorted((world_dir / "payments").glob("*.parquet"))}
        clock = pd.Timestamp(meta["as_of"])
        clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
        state = payments.at_clock(tables, clock)
        accounts = state["stripe_accounts"]
        world = cls(clock=clock, state=state,
                    keys=dict(zip(accounts["secret_key"].astype(str), accounts["account_id"].astype(str))),
                    _locks={name: threading.Lock() for name in RESOURCES},
                    render_cache=render_cache if render_cache is not None else RenderCache())
        threading.Thread(target=world.warm_up, name="stripe-warm-up", daemon=True).start()
        return world

    def warm_up(self, chunk: int = WARM_UP_CHUNK) -> None:
        """Build every resource's listings and render every object, in chunks (so requests interleave)."""
        for name in RESOURCES:
            for listing in self.listings(name).values():
                for start in range(0, len(listing), chunk):
                    listing.blobs_between(start, start + chunk)

    def listings(self, resource: str) -> dict[str, Listing]:
        """account_id -> Listing for `resource`, built on first use."""
        built = self._listings.get(resource)
        if built is not None:
            return built
        with self._locks[resource]:
            if resource not in self._listings:
                self._listings[resource] = self._build(RESOURCES[resource])
            return self._listings[resource]

    def listing(self, resource: str, account_id: str) -> Listing:
        """One account's listing of `resource` (empty when it has none)."""
        found = self.listings(resource).get(account_id)
        return found if found is not None else _listing([], np.array([], dtype=np.int64),
                                                        types=np.array([], dtype=object))

    def _build(self, spec: ResourceSpec) -> dict[str, Listing]:
        frame = self.state[spec.table]
        if spec.name == "events":
            frame = frame[frame["created_at"] > self.clock - EVENT_RETENTION]
        ordered = _newest_first(frame, spec.id_column)
        plain = ordered.drop(columns=["_created_s", "_id"])
        if spec.name == "events":
            keys: list[Any] = plain["event_id"].astype(str).tolist()
        else:
            keys = _row_keys(plain, spec.id_column)

        def render_rows(rows: list[int]) -> list[bytes]:
            subset = plain.iloc[rows]
            blobs = _render_events(self.state, subset) if spec.name == "events" else _render_rows(subset, spec.render)
            self.render_cache.store(spec.name, [keys[r] for r in rows], blobs)
            return blobs

        return _split_accounts(ordered, spec.id_column, self.render_cache.lookup(spec.name, keys), render_rows)

    def find(self, account_id: str, object_id: str) -> bytes | None:
        """The pre-rendered object with this id in the account, whatever its resource (None when unknown)."""
        resource = next((r for p, r in ID_PREFIXES.items() if object_id.startswith(p)), None)
        if resource is None:
            return None
        listing = self.listing(resource, account_id)
        position = listing.position.get(object_id)
        return None if position is None else listing.blob(position)
