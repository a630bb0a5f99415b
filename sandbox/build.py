"""`leakwatch sandbox generate`: the world, its ops sheets, planted defects, ground truth and the connection config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from sandbox.world import World, load_world, world_at
from sandbox.world.generate import build_world, write_meta, write_world
from sandbox.world.sheets import area_sheets, fx_rates, write_sheets

DEFECTS = ("unmapped_sku", "missing_fx", "stale_store", "duplicate_records", "schema_drift")
STALE_HOURS = 72


# Ground truth of each area. A metric listed in WAREHOUSE_METRICS[area] has its warehouse side built: its rows
# go to `kpis`, which `leakwatch verify` compares with marts.kpis. The others go to `area_kpis` (not compared)
# until their dbt models land; add a metric to the set in the same change as the dbt model that computes it.
# A built area metric replaces the slice's rows of the same name (sandbox/ground_truth.py's narrower definitions).
def _support_kpis(world: World, sheets_dir: Path) -> pd.DataFrame:
    from sandbox.ground_truth_support import compute_kpis

    return compute_kpis(world, world.areas["support"], sheets_dir)


def _fulfilment_kpis(world: World, sheets_dir: Path) -> pd.DataFrame:
    from sandbox.ground_truth_fulfilment import compute_kpis

    at_clock = world_at(world)
    return compute_kpis(at_clock, at_clock.areas["fulfilment"], sheets_dir)


def _payments_kpis(world: World, sheets_dir: Path) -> pd.DataFrame:
    from sandbox.ground_truth_payments import compute_kpis, preventability_inputs

    fulfilment, support = preventability_inputs(world_at(world), sheets_dir)
    return compute_kpis(world, world.areas["payments"], sheets_dir, fulfilment=fulfilment, support=support)


def _leaks_kpis(world: World, sheets_dir: Path) -> pd.DataFrame:
    from sandbox.ground_truth_leaks import compute_kpis

    return compute_kpis(world, sheets_dir)


def _quality_kpis(world: World, sheets_dir: Path) -> pd.DataFrame:
    from sandbox.ground_truth_quality import compute_kpis

    return compute_kpis(world, sheets_dir)


AREA_GROUND_TRUTH = {"support": _support_kpis, "fulfilment": _fulfilment_kpis, "payments": _payments_kpis,
                     "leaks": _leaks_kpis, "quality": _quality_kpis}
CORE_AREAS = {"quality"}  # computed for every world (the others only when the world simulates that area)
WAREHOUSE_METRICS: dict[str, set[str]] = {
    "quality": {"data_completeness"},
    "support": {
        "first_response_hours_p50",
        "first_response_business_hours_p50",
        "frt_within_target_rate",
        "refund_ticket_first_response_business_hours_p50",
        "resolved_within_3_exchanges_rate",
        "template_usage_rate",
    },
    "fulfilment": {"orders_within_48h_rate", "open_over_48h_count", "supplier_sla_hit_rate",
                   "carrier_on_time_rate", "carrier_transit_days_p50", "eligible_claim_parcels",
                   "claim_filing_rate", "claim_recovery_rate", "compensation_recovered",
                   "unfiled_past_window_count"},
    "payments": {"dispute_count", "chargeback_cost", "dispute_win_rate", "dispute_rate_visa",
                 "dispute_rate_mastercard", "disputes_at_risk", "disputes_missed", "auth_success_rate",
                 "integration_issue_count", "preventable_dispute_share"},
    "leaks": {"gross_profit", "refund_cost", "refund_cost_pct_of_profit", "preventable_refund_cost",
              "preventable_share", "cause_coverage", "tagged_share", "leak_cost", "matrix_compliance_rate",
              "cash_before_credit_count", "over_limit_unapproved_count", "exchange_share",
              "return_cycle_days_p50"},
}


_LONG_FORMAT = (
    "cast(metric as varchar) as metric, cast(store_id as varchar) as store_id, "
    "cast(period_start as date) as period_start, cast(grain as varchar) as grain, "
    "cast(dimension as varchar) as dimension, cast(dimension_value as varchar) as dimension_value, "
    "cast(value as double) as value"
)


def write_area_ground_truth(world: World, sheets_dir: Path, path: Path) -> int:
    """Add each area's KPIs to the ground-truth file: built ones to `kpis`, the rest to `area_kpis`.

    Returns the number of rows appended to `kpis`.
    """
    import duckdb

    frames = [kpis(world, sheets_dir).assign(_area=area)
              for area, kpis in AREA_GROUND_TRUTH.items() if area in world.areas or area in CORE_AREAS]
    if not frames:
        return 0
    rows = pd.concat(frames, ignore_index=True)
    built = pd.Series([metric in WAREHOUSE_METRICS.get(area, set())
                       for area, metric in zip(rows["_area"], rows["metric"], strict=True)], index=rows.index)
    # an area's built metric replaces the slice's narrower rows of the same name (e.g. leaks' full gross_profit)
    superseded = sorted(set(rows.loc[built, "metric"]))
    con = duckdb.connect(str(path))
    try:
        if superseded:
            con.execute("delete from kpis where metric in (select unnest(?::varchar[]))", [superseded])
        con.register("built_frame", rows[built].drop(columns="_area"))
        con.register("area_frame", rows[~built].drop(columns="_area"))
        con.execute(f"insert into kpis select {_LONG_FORMAT} from built_frame")
        con.execute(f"create or replace table area_kpis as select {_LONG_FORMAT} from area_frame")
        return int(built.sum())
    finally:
        con.close()


def export_ground_truth(path: Path, out_dir: Path) -> None:
    """Every ground-truth table also as sorted parquet (DuckDB files are not byte-stable; these are)."""
    import duckdb

    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=True)
    try:
        for (table,) in con.execute("select table_name from duckdb_tables() order by 1").fetchall():
            frame = con.execute(f'select * from "{table}"').df()
            frame = frame.sort_values(list(frame.columns), na_position="first", kind="stable")
            frame.reset_index(drop=True).to_parquet(out_dir / f"{table}.parquet", index=False)
    finally:
        con.close()


def _write_truth(world: World, out_dir: Path) -> None:
    from sandbox.ground_truth import write_ground_truth

    path = out_dir / "ground_truth.duckdb"
    write_ground_truth(world, out_dir / "sheets", path)
    write_area_ground_truth(world, out_dir / "sheets", path)
    export_ground_truth(path, out_dir / "ground_truth")


def unmapped_sku(sheets_dir: Path, world: World) -> str:
    """Blank the supplier and COGS of the best-selling SKU in sku_catalog.csv; returns that SKU."""
    catalog = pd.read_csv(sheets_dir / "sku_catalog.csv", dtype=str, keep_default_na=False)
    sku = world.line_items["sku"].value_counts().index[0]
    catalog.loc[catalog["sku"] == sku, ["supplier_id", "unit_cogs", "cogs_currency"]] = ""
    catalog.to_csv(sheets_dir / "sku_catalog.csv", index=False, lineterminator="\n")
    return sku


def missing_fx(sheets_dir: Path, world: World) -> str:
    """Drop one currency-day that events use from fx_rates.csv (a non-USD store currency, mid-window)."""
    fx = pd.read_csv(sheets_dir / "fx_rates.csv", dtype=str, keep_default_na=False)
    currency = next(c for c in world.stores["currency"] if c != "USD")
    day = (pd.Timestamp(world.meta["as_of"]) - pd.Timedelta(days=20)).date().isoformat()
    fx = fx[~((fx["currency"] == currency) & (fx["date"] == day))]
    fx.to_csv(sheets_dir / "fx_rates.csv", index=False, lineterminator="\n")
    return f"{currency} {day}"


def stale_store(world: World) -> str:
    """Freeze the last store's feed STALE_HOURS before the clock (recorded in meta; `world_at` applies it)."""
    store_id = world.stores["store_id"].iloc[-1]
    frozen = pd.Timestamp(world.meta["as_of"]) - pd.Timedelta(hours=STALE_HOURS)
    world.meta["stale_store"] = {"store_id": store_id, "frozen_at": frozen.isoformat().replace("+00:00", "Z")}
    return store_id


def _plant_faults(world: World, settings: dict[str, dict[str, float]]) -> None:
    """Record emulator faults in meta (`faults`, see sandbox.emulators.faults), seeded by the sandbox seed."""
    faults = world.meta.setdefault("faults", {})
    for api, values in settings.items():
        faults.setdefault(api, {}).update({"seed": int(world.meta["seed"]), **values})


def duplicate_records(world: World) -> str:
    """Webhook-style duplicates: every follow-up page of Shopify orders and of Stripe lists (charges, refunds…)
    starts with the last record of the page before, so a page-walk receives those records twice."""
    apis = ["shopify", *(["stripe"] if "payments" in world.areas else [])]
    _plant_faults(world, {api: {"duplicates": 1.0} for api in apis})
    return ", ".join(apis)


def schema_drift(world: World) -> str:
    """A breaking drift on one source: Stripe's `amount` (integer cents) becomes an object `{value, currency}`
    on every object that has one (Shopify's MoneyV2 `amount` string → object when there is no payments area)."""
    api = "stripe" if "payments" in world.areas else "shopify"
    _plant_faults(world, {api: {"drift_breaking": 1.0}})
    return api


# The emulators' default ports (sandbox.emulators.server.EMULATORS, kept equal by a test): the config writer does
# not import the emulators' web stack just for these.
DEFAULT_PORTS = {"shopify": 8701, "stripe": 8702, "reamaze": 8703, "aftership": 8704}


def _toml_list(rows: list[str]) -> str:
    return "[\n" + "".join(f"    {row},\n" for row in rows) + "]"


def write_config(world: World, out_dir: Path, host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> None:
    """`.dlt/config.toml` and `.dlt/secrets.toml` pointing every source at the loopback emulators."""
    from sandbox.emulators.aftership_world import api_key as aftership_key  # not the app: no web stack to import

    ports = {**DEFAULT_PORTS, **(ports or {})}
    url = {name: f"http://{host}:{port}" for name, port in ports.items()}
    dlt_dir = out_dir / ".dlt"
    dlt_dir.mkdir(parents=True, exist_ok=True)
    shops = [f'{{store_id = "{s.store_id}", base_url = "{url["shopify"]}/shops/{s.shop}"}}'
             for s in world.stores.itertuples()]
    config = [
        "# Written by `leakwatch sandbox generate`: the sandbox's loopback emulators. Do not edit.",
        "[leakwatch]", 'environment = "sandbox"', f'as_of = "{world.meta["as_of"]}"',
        f'reporting_currency = "{world.meta["reporting_currency"]}"', 'sandbox_world = "world"', "",
        "[sources.shopify]", 'api_version = "2026-07"', f"shops = {_toml_list(shops)}", "",
        "[sources.sheets]", 'sheets_dir = "sheets"', "",
    ]
    secrets = ["# Sandbox credentials (not secret: only the loopback emulators accept them).",
               "[sources.shopify.access_tokens]",
               *(f'{s.store_id} = "{s.access_token}"' for s in world.stores.itertuples()), ""]
    if "payments" in world.areas:
        accounts = world.areas["payments"]["stripe_accounts"]
        rows = [f'{{brand = "{a.brand}", account_id = "{a.account_id}"}}' for a in accounts.itertuples()]
        config += ["[sources.stripe]", f'base_url = "{url["stripe"]}"', f"accounts = {_toml_list(rows)}", ""]
        secrets += ["[sources.stripe.api_keys]", *(f'{a.brand.lower()} = "{a.secret_key}"'
                                                    for a in accounts.itertuples()), ""]
    if "support" in world.areas:
        staff = world.areas["support"]["staff"].groupby("brand").head(1)
        rows = [f'{{brand = "{b.brand.lower()}", base_url = "{url["reamaze"]}/brands/{b.brand.lower()}", '
                f'login_email = "{b.email}"}}' for b in staff.itertuples()]
        config += ["[sources.reamaze]", f"brands = {_toml_list(rows)}", ""]
        secrets += ["[sources.reamaze.api_tokens]", *(f'{b.brand.lower()} = "{b.api_token}"'
                                                       for b in staff.itertuples()), ""]
    if "fulfilment" in world.areas:
        config += ["[sources.aftership]", f'base_url = "{url["aftership"]}"', 'api_version = "2026-07"', ""]
        secrets += ["[sources.aftership]", f'api_key = "{aftership_key(world)}"', ""]
    (dlt_dir / "config.toml").write_text("\n".join(config))
    (dlt_dir / "secrets.toml").write_text("\n".join(secrets))


def advance(out_dir: Path, days: float) -> dict[str, object]:
    """Move the sandbox clock forward: new orders appear, and old ones change (late refunds), as in real shops.

    The emulators notice the new clock (meta.json) without a restart; the FX sheet, the config and the
    ground truth are rewritten for the new clock.
    """

    world_dir = out_dir / "world"
    world = load_world(world_dir)
    old = pd.Timestamp(world.meta["as_of"])
    new = old + pd.Timedelta(days=days)
    horizon = pd.Timestamp(world.meta["horizon_end"])
    if days <= 0:
        raise ValueError("--days must be positive: the clock only moves forward")
    if new > horizon:
        raise ValueError(f"the sandbox was simulated up to {horizon.isoformat()}; generate it again to go further")
    world.meta["as_of"] = new.isoformat().replace("+00:00", "Z")
    before, after = world_at(world, old), world_at(world, new)
    for name, frame in {"fx_rates": fx_rates(world), **area_sheets(world)}.items():
        frame.to_csv(out_dir / "sheets" / f"{name}.csv", index=False, lineterminator="\n")
    if "missing_fx" in world.meta.get("defects", []):
        missing_fx(out_dir / "sheets", world)
    write_meta(world, world_dir)
    write_config(world, out_dir, ports=_configured_ports(out_dir))
    _write_truth(world, out_dir)
    changed = after.orders.merge(before.orders[["order_id", "updated_at"]], on="order_id", how="left",
                                 suffixes=("", "_before"))
    return {
        "as_of": world.meta["as_of"],
        "new_orders": int(changed["updated_at_before"].isna().sum()),
        "updated_orders": int((changed["updated_at_before"].notna()
                               & (changed["updated_at"] != changed["updated_at_before"])).sum()),
        "new_refunds": len(after.refunds) - len(before.refunds),
    }


def _configured_ports(out_dir: Path) -> dict[str, int]:
    """The emulator ports the sandbox config points at (a `--free-ports` sandbox keeps them when advanced)."""
    import tomllib
    from urllib.parse import urlparse

    path = out_dir / ".dlt" / "config.toml"
    if not path.exists():
        return {}
    sources = tomllib.loads(path.read_text()).get("sources", {})
    urls = {
        "shopify": next(iter(sources.get("shopify", {}).get("shops", [])), {}).get("base_url"),
        "stripe": sources.get("stripe", {}).get("base_url"),
        "reamaze": next(iter(sources.get("reamaze", {}).get("brands", [])), {}).get("base_url"),
        "aftership": sources.get("aftership", {}).get("base_url"),
    }
    ports = {name: urlparse(url).port for name, url in urls.items() if url}
    return {name: port for name, port in ports.items() if port}


def generate(preset: str, seed: int, out_dir: Path, defects: tuple[str, ...] = ()) -> dict[str, object]:
    """Write everything under `out_dir` (replacing an earlier sandbox there); returns a summary."""
    unknown = sorted(set(defects) - set(DEFECTS))
    if unknown:
        raise ValueError(f"unknown defect {', '.join(unknown)}: choose from {', '.join(DEFECTS)}")

    for sub in ("world", "sheets"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    world = build_world(preset, seed)
    world.meta["defects"] = sorted(defects)
    planted: dict[str, str] = {}
    if "stale_store" in defects:
        planted["stale_store"] = stale_store(world)
    if "duplicate_records" in defects:
        planted["duplicate_records"] = duplicate_records(world)
    if "schema_drift" in defects:
        planted["schema_drift"] = schema_drift(world)
    write_world(world, out_dir / "world")
    sheets_dir = write_sheets(world, out_dir / "sheets")
    if "unmapped_sku" in defects:
        planted["unmapped_sku"] = unmapped_sku(sheets_dir, world)
    if "missing_fx" in defects:
        planted["missing_fx"] = missing_fx(sheets_dir, world)
    write_config(world, out_dir)
    world = load_world(out_dir / "world")
    _write_truth(world, out_dir)
    at_clock = world_at(world)
    return {
        "preset": preset,
        "seed": seed,
        "as_of": world.meta["as_of"],
        "stores": len(world.stores),
        "orders": len(at_clock.orders),
        "refunds": len(at_clock.refunds),
        "defects": planted,
        "out_dir": str(out_dir),
    }
