"""The ops team's sheets (CSV) for a world, and the sandbox connection config the dlt sources read."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sandbox.world import SHEET_PREFIX, World, area_module, clock
from sandbox.world.presets import CAUSES, CURRENCIES, KPI_TARGETS

# areas whose `at_clock` re-renders a sheet (a claims log, a label export grow with the clock)
CLOCK_SHEET_AREAS = ("fulfilment", "leaks")


def _cents(values: pd.Series) -> pd.Series:
    return values.map(lambda c: f"{c // 100}.{c % 100:02d}")


def fx_rates(world: World) -> pd.DataFrame:
    """Daily rates (random walk around the base rate) from 10 days before the start to the clock."""
    start = date.fromisoformat(world.meta["start_date"]) - timedelta(days=10)
    end = date.fromisoformat(world.meta["as_of"][:10])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    frames = []
    for index, (ccy, base) in enumerate(CURRENCIES.items()):
        # one generator per currency: advancing the clock appends days without changing earlier rates
        rng = np.random.default_rng([world.meta["seed"], 17, index])
        if ccy == "USD":
            rates = np.ones(len(days))
        else:
            rates = base * np.exp(np.cumsum(rng.normal(0, 0.004, size=len(days))))
        frames.append(pd.DataFrame({"date": [d.isoformat() for d in days], "currency": ccy,
                                    "rate_to_usd": np.round(rates, 6)}))
    return pd.concat(frames, ignore_index=True)


def area_sheets(world: World) -> dict[str, pd.DataFrame]:
    """The areas' sheets as the ops team has them at the clock (a claims log holds only claims filed by then)."""
    static = {name: df for tables in world.areas.values() for name, df in tables.items()
              if name.startswith(SHEET_PREFIX)}  # a world already at its clock holds its clock sheets here
    # only the areas whose sheets change with the clock are put at the clock (the base tables are not needed)
    as_of = clock(world)
    at_clock = {}
    for area, tables in world.areas.items():
        if area in CLOCK_SHEET_AREAS and not world.meta.get("at_clock"):
            rows = area_module(area).at_clock({k: v for k, v in tables.items() if not k.startswith(SHEET_PREFIX)},
                                              as_of)
            at_clock.update({name: df for name, df in rows.items() if name.startswith(SHEET_PREFIX)})
    return {name.removeprefix(SHEET_PREFIX): df for name, df in {**static, **at_clock}.items()}


def sheets(world: World) -> dict[str, pd.DataFrame]:
    """Every ops sheet of the slice, consistent with the world."""
    stores = world.stores[["store_id", "brand", "market", "shop_domain", "currency", "timezone",
                           "order_cutoff_local", "business_days"]]
    catalog = world.skus.assign(unit_cogs=_cents(world.skus["unit_cogs_cents"]))
    catalog = catalog[["sku", "product_title", "supplier_id", "unit_cogs", "cogs_currency"]]
    causes = pd.DataFrame([c[:4] for c in CAUSES], columns=["code", "label", "owner", "preventable_default"])
    causes["preventable_default"] = causes["preventable_default"].map({True: "true", False: "false"})
    targets = pd.DataFrame(KPI_TARGETS, columns=["metric", "target", "direction"])
    return {
        **area_sheets(world),
        "stores": stores,
        "sku_catalog": catalog,
        "suppliers": world.suppliers,
        "refund_causes": causes,
        "fx_rates": fx_rates(world),
        "kpi_targets": targets,
    }


def write_sheets(world: World, sheets_dir: Path) -> Path:
    sheets_dir.mkdir(parents=True, exist_ok=True)
    for name, df in sheets(world).items():
        df.to_csv(sheets_dir / f"{name}.csv", index=False, lineterminator="\n")
    return sheets_dir
