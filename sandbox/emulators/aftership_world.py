"""The AfterShip emulator's view of the sandbox world: trackings at the clock, sorted and pre-rendered.

`AfterShipWorld.load(world_dir)` reads the world, takes the fulfilment area at the clock (`world_at`) and builds
one row per tracking in the order the list endpoint serves them: `updated_at` ascending, then `id`. Filter
columns are numpy arrays in that order and every tracking is rendered to JSON bytes once, so a page is a slice
and a join of bytes.

Rendering (AfterShip Tracking API 2026-07, `tracking.models.Tracking`): timestamps are ISO 8601 in UTC with
whole seconds (`2026-08-20T01:42:24+00:00`); `updated_at` / `created_at` filters and ordering use the same
whole seconds, so what a client reads is exactly what it can filter on. Fields served:
- from the world: `id`, `tracking_number` (also `title`), `slug`, `order_id` (the Shopify order id, as a string),
  `order_number` (`#1001`), `shipment_type` (carrier service), `created_at`, `updated_at`, `tag` / `subtag` /
  `subtag_message` at the clock, `shipment_pickup_date` / `shipment_delivery_date` (null until they happen),
  `location_id` (the Shopify Location that shipped), checkpoints up to the clock.
- derived: `transit_time` (store-local days from pickup to delivery, or to the clock while undelivered; null
  without pickup), `first_estimated_delivery` = `latest_estimated_delivery` (`specific`, `Carrier EDD`; no
  revisions are simulated), `on_time_status` `on-time` | `late` with `on_time_difference` = days late (only for
  delivered parcels with an estimate, else null), `origin_country_region` (the shipping location's country),
  `destination_country_region` = `courier_destination_country_region` (the store's market), `failed_delivery_attempts`
  (AttemptFail checkpoints), `first_attempted_at` (first AttemptFail or Delivered checkpoint), `active` (false once
  Delivered or Expired), `return_to_sender` false, `source` `shopify`, `shipment_direction` `forward`.
- checkpoints: `created_at` = `checkpoint_time`, `slug`, `location`, `city`, `country_region`, `message`, `tag`,
  `subtag`, `subtag_message`, `source` `carrier`.
Every other field of the SDK model is omitted or null.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from sandbox.world import World, load_world, world_at
from sandbox.world.fulfilment import MARKET_COUNTRY

US_PER_S = 1_000_000
INACTIVE_TAGS = frozenset({"Delivered", "Expired"})
ATTEMPT_TAGS = ("AttemptFail", "Delivered")
EMPTY_LIST = orjson.Fragment("[]")


def api_key_from_meta(meta: Mapping[str, Any]) -> str:
    """The portfolio's sandbox AfterShip API key, derived from the world's preset and seed."""
    digest = hashlib.sha256(f"aftership:{meta.get('preset')}:{meta.get('seed')}".encode()).hexdigest()
    return f"asat_sandbox_{digest[:32]}"


def api_key(world: World) -> str:
    """The sandbox API key the emulator accepts for `world` (for the sandbox config writer)."""
    return api_key_from_meta(world.meta)


def _seconds(stamps: pd.Series) -> np.ndarray:
    """UTC timestamps → epoch seconds (floored), int64; NaT → -1."""
    us = pd.to_datetime(stamps, utc=True).dt.as_unit("us")
    out = us.astype("int64").to_numpy() // US_PER_S
    return np.where(us.isna().to_numpy(), -1, out)


def _iso(seconds: np.ndarray) -> list[str | None]:
    """Epoch seconds → ISO 8601 UTC strings (None for -1)."""
    text = np.datetime_as_string(np.maximum(seconds, 0).astype("datetime64[s]"), unit="s")
    return [t + "+00:00" if s >= 0 else None for t, s in zip(text.tolist(), seconds.tolist())]


def _local_days(seconds: np.ndarray, timezones: np.ndarray) -> np.ndarray:
    """Local calendar day numbers (days since epoch) of epoch seconds, each in its own timezone."""
    out = np.zeros(len(seconds), dtype=np.int64)
    for tz in pd.unique(timezones):
        mask = timezones == tz
        local = pd.to_datetime(seconds[mask], unit="s", utc=True).tz_convert(tz).tz_localize(None)
        out[mask] = local.normalize().values.astype("datetime64[D]").astype(np.int64)
    return out


def _edd(day: Any) -> dict[str, Any] | None:
    """An estimated-delivery object (`TrackingFirstEstimatedDelivery` shape) for a local date, or None."""
    if day is None or (isinstance(day, float) and np.isnan(day)) or day is pd.NaT:
        return None
    return {"type": "specific", "source": "Carrier EDD", "datetime": str(day)[:10],
            "datetime_min": None, "datetime_max": None}


def _quoted(values: pd.Series | np.ndarray) -> list[str]:
    """Each value as JSON text (`null` for missing), encoding every distinct value once."""
    codes, uniques = pd.factorize(values)
    text = [orjson.dumps(v).decode() for v in uniques] + ["null"]
    return [text[c] for c in codes.tolist()]


def _checkpoint_fragments(checkpoints: pd.DataFrame, slugs: Mapping[str, str],
                          countries: Mapping[str, str | None]) -> dict[str, orjson.Fragment]:
    """Each tracking's checkpoints (time order) as a pre-rendered JSON array of `Checkpoint` objects
    (text built per checkpoint from per-value encodings: far faster than a dict per checkpoint)."""
    cp = checkpoints.sort_values(["tracking_id", "checkpoint_time"], kind="stable").reset_index(drop=True)
    tids = cp["tracking_id"].to_numpy(dtype=object)
    location = cp["location"].to_numpy(dtype=object)
    city = np.array([None if v is None else str(v).split(",")[0] for v in location], dtype=object)
    columns = zip(_iso(_seconds(cp["checkpoint_time"])), _quoted(pd.Series(tids).map(slugs).to_numpy(object)),
                  _quoted(location), _quoted(city), _quoted(pd.Series(tids).map(countries).to_numpy(object)),
                  _quoted(cp["message"]), _quoted(cp["tag"]), _quoted(cp["subtag"]),
                  _quoted(cp["subtag_message"]))
    parts: dict[str, list[str]] = {}
    for tid, (when, slug, loc, town, country, msg, tag, subtag, sub_msg) in zip(tids.tolist(), columns):
        parts.setdefault(tid, []).append(
            f'{{"created_at":"{when}","slug":{slug},"checkpoint_time":"{when}","location":{loc},'
            f'"city":{town},"state":null,"postal_code":null,"coordinate":null,"country_region":{country},'
            f'"country_region_name":null,"message":{msg},"tag":{tag},"subtag":{subtag},'
            f'"subtag_message":{sub_msg},"raw_tag":null,"events":[],"source":"carrier"}}')
    return {tid: orjson.Fragment("[" + ",".join(items) + "]") for tid, items in parts.items()}


def _attempts(frame: pd.DataFrame, checkpoints: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `frame`: epoch seconds of the first delivery attempt (-1 if none), and failed attempts."""
    tries = checkpoints[checkpoints["tag"].isin(ATTEMPT_TAGS)]
    first = tries.groupby("tracking_id")["checkpoint_time"].min()
    failed = checkpoints[checkpoints["tag"] == "AttemptFail"].groupby("tracking_id").size()
    first_s = _seconds(frame["tracking_id"].map(first))
    return first_s, frame["tracking_id"].map(failed).fillna(0).astype(np.int64).to_numpy()


@dataclass(frozen=True)
class Columns:
    """Per-tracking columns used by filters, in served order."""

    ids: np.ndarray
    updated: np.ndarray
    created: np.ndarray
    tag: np.ndarray
    slug: np.ndarray
    tracking_number: np.ndarray
    order_id: np.ndarray
    origin: np.ndarray
    destination: np.ndarray
    transit_time: np.ndarray


@dataclass
class AfterShipWorld:
    """Trackings at the clock, sorted by (updated_at, id), with filter columns and pre-rendered JSON."""

    as_of: int
    api_key: str
    columns: Columns
    rendered: list[bytes]
    index: dict[str, int]
    match_cache: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rendered)

    @classmethod
    def load(cls, world_dir: Path) -> AfterShipWorld:
        """Read the world under `world_dir` and prepare it at its clock."""
        return cls.from_world(world_at(load_world(world_dir)))

    @classmethod
    def from_world(cls, world: World) -> AfterShipWorld:
        """Prepare an already clocked world (`world_at`)."""
        area = world.areas.get("fulfilment", {})
        as_of = int(pd.Timestamp(world.meta["as_of"]).value // 1_000_000_000)
        key = api_key_from_meta(world.meta)
        if "trackings" not in area:
            return cls(as_of, key, _empty_columns(), [], {})
        frame = _tracking_frame(world, area)
        rows = _render_rows(frame, area["checkpoints"], as_of)
        columns = Columns(
            ids=frame["tracking_id"].to_numpy(dtype=object), updated=frame["updated_s"].to_numpy(),
            created=frame["created_s"].to_numpy(), tag=frame["tag"].to_numpy(dtype=object),
            slug=frame["slug"].to_numpy(dtype=object),
            tracking_number=frame["tracking_number"].to_numpy(dtype=object),
            order_id=frame["order_id"].astype(str).to_numpy(dtype=object),
            origin=frame["origin"].to_numpy(dtype=object), destination=frame["destination"].to_numpy(dtype=object),
            transit_time=np.array([-1 if r["transit_time"] is None else r["transit_time"] for r in rows]),
        )
        rendered = [orjson.dumps(r) for r in rows]
        return cls(as_of, key, columns, rendered, {tid: i for i, tid in enumerate(columns.ids)})


def _empty_columns() -> Columns:
    empty = np.array([], dtype=object)
    ints = np.array([], dtype=np.int64)
    return Columns(empty, ints, ints, empty, empty, empty, empty, empty, empty, ints)


def _tracking_frame(world: World, area: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Trackings joined to their store and fulfillment location, sorted by (updated_at, id)."""
    tr = area["trackings"].copy()
    stores = world.stores.set_index("store_id")
    tr["timezone"] = tr["store_id"].map(stores["timezone"]).fillna("UTC")
    tr["destination"] = tr["market"].map(MARKET_COUNTRY)
    fl = area["fulfillments"].set_index("fulfillment_id")["location_id"]
    loc = area["locations"].set_index("location_id")["country_code"]
    tr["location_id"] = tr["fulfillment_id"].map(fl)
    tr["origin"] = tr["location_id"].map(loc)
    tr["updated_s"] = _seconds(tr["updated_at"])
    tr["created_s"] = _seconds(tr["created_at"])
    tr["pickup_s"] = _seconds(tr["shipment_pickup_date"])
    tr["delivery_s"] = _seconds(tr["shipment_delivery_date"])
    return tr.sort_values(["updated_s", "tracking_id"], kind="stable").reset_index(drop=True)


def _transit_days(frame: pd.DataFrame, as_of: int) -> np.ndarray:
    """AfterShip `transit_time`: delivery (or clock) local date − pickup local date; -1 without pickup."""
    tz = frame["timezone"].to_numpy(dtype=object)
    pickup = frame["pickup_s"].to_numpy()
    end = np.where(frame["delivery_s"].to_numpy() >= 0, frame["delivery_s"].to_numpy(), as_of)
    days = _local_days(end, tz) - _local_days(np.maximum(pickup, 0), tz)
    return np.where(pickup >= 0, days, -1)


def _on_time(delivery_day: int, edd: Any) -> tuple[str | None, int | None]:
    """(on_time_status, on_time_difference) of a delivered parcel against its first estimate."""
    if delivery_day < 0 or _edd(edd) is None:
        return None, None
    late = delivery_day - int(np.datetime64(str(edd)[:10], "D").astype(np.int64))
    return ("late", late) if late > 0 else ("on-time", 0)


def _render_rows(frame: pd.DataFrame, checkpoints: pd.DataFrame, as_of: int) -> list[dict[str, Any]]:
    """The `Tracking` objects of every row, as dicts ready for orjson."""
    ids = frame["tracking_id"].tolist()
    cps = _checkpoint_fragments(checkpoints, dict(zip(ids, frame["slug"])),
                                dict(zip(ids, frame["destination"])))
    first_try, failed = _attempts(frame, checkpoints)
    transit = _transit_days(frame, as_of)
    tz = frame["timezone"].to_numpy(dtype=object)
    delivery_day = np.where(frame["delivery_s"].to_numpy() >= 0,
                            _local_days(np.maximum(frame["delivery_s"].to_numpy(), 0), tz), -1)
    stamps = {col: _iso(frame[f"{col}_s"].to_numpy()) for col in ("updated", "created", "pickup", "delivery")}
    first_iso = _iso(first_try)
    rows = []
    for i, r in enumerate(_plain_rows(frame)):
        status, diff = _on_time(int(delivery_day[i]), r.first_estimated_delivery)
        rows.append(_tracking_dict(r, {
            "created_at": stamps["created"][i], "updated_at": stamps["updated"][i],
            "shipment_pickup_date": stamps["pickup"][i], "shipment_delivery_date": stamps["delivery"][i],
            "transit_time": int(transit[i]) if transit[i] >= 0 else None,
            "on_time_status": status, "on_time_difference": diff,
            "first_attempted_at": first_iso[i],
            "failed_delivery_attempts": int(failed[i]),
            "checkpoints": cps.get(r.tracking_id, EMPTY_LIST),
        }))
    return rows


def _plain_rows(frame: pd.DataFrame) -> Any:
    """Rows of the columns a tracking renders, as namedtuples of plain Python objects (fast to iterate)."""
    cols = ["tracking_id", "tracking_number", "slug", "service", "order_id", "order_number", "tag", "subtag",
            "subtag_message", "origin", "destination", "location_id", "first_estimated_delivery"]
    row = namedtuple("row", cols)
    return map(row._make, zip(*(frame[c].to_numpy(dtype=object).tolist() for c in cols)))


def _tracking_dict(r: Any, derived: dict[str, Any]) -> dict[str, Any]:
    """One `Tracking` object: the row's own fields plus the derived ones."""
    edd = _edd(r.first_estimated_delivery)
    latest = None if edd is None else {**edd, "revise_reason": None}
    return {
        "id": r.tracking_id, "legacy_id": None, "created_at": derived["created_at"],
        "updated_at": derived["updated_at"], "tracking_number": r.tracking_number, "slug": r.slug,
        "active": r.tag not in INACTIVE_TAGS, "custom_fields": None, "transit_time": derived["transit_time"],
        "origin_country_region": r.origin if isinstance(r.origin, str) else None,
        "destination_country_region": r.destination,
        "courier_destination_country_region": r.destination, "note": None,
        "order_id": str(r.order_id), "order_id_path": None, "order_number": r.order_number,
        "shipment_package_count": 1, "shipment_pickup_date": derived["shipment_pickup_date"],
        "shipment_delivery_date": derived["shipment_delivery_date"], "shipment_type": r.service,
        "signed_by": None, "source": "shopify", "tag": r.tag, "subtag": r.subtag,
        "subtag_message": r.subtag_message, "title": r.tracking_number, "language": None,
        "checkpoints": derived["checkpoints"], "subscribed_smses": [], "subscribed_emails": [],
        "return_to_sender": False, "first_attempted_at": derived["first_attempted_at"],
        "on_time_status": derived["on_time_status"], "on_time_difference": derived["on_time_difference"],
        "order_tags": [], "first_estimated_delivery": edd, "latest_estimated_delivery": latest,
        "shipment_tags": [],
        "location_id": None if pd.isna(r.location_id) else str(int(r.location_id)),
        "failed_delivery_attempts": derived["failed_delivery_attempts"], "shipment_direction": "forward",
    }
