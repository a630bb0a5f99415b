"""The world at its clock as the Shopify emulator shows it, computed here independently of the emulator's code."""

from __future__ import annotations

import pandas as pd

from sandbox.world import World


def shopify_view(world: World) -> dict[str, pd.DataFrame]:
    """The tables of a world at its clock as Shopify shows them: replacement orders (leaks area) are orders of
    their store; creating a fulfillment, a return change or store credit issued from an order changes the order,
    so an order's `updated_at` is also at least the latest of those (WORLD.md, "Shopify"; leaks.md)."""
    out = world.tables()
    fulfilment = world.areas["fulfilment"]
    leaks = world.areas["leaks"]
    out.update({f"fulfilment.{name}": frame for name, frame in fulfilment.items()})
    rep = leaks["replacement_orders"]
    orders = pd.concat([out["orders"], rep[list(out["orders"].columns)]], ignore_index=True)
    out["line_items"] = pd.concat([out["line_items"], leaks["replacement_line_items"]], ignore_index=True)
    ret = leaks["returns"]
    changes = pd.concat([
        fulfilment["fulfillments"][["order_id", "created_at"]].rename(columns={"created_at": "at"}),
        *(ret[["order_id", col]].rename(columns={col: "at"}) for col in ("requested_at", "approved_at",
                                                                          "received_at", "closed_at")),
        leaks["store_credit_transactions"][["order_id", "created_at"]].rename(columns={"created_at": "at"}),
    ]).dropna()
    changed = orders["order_id"].map(changes.groupby("order_id")["at"].max())
    later = changed.notna() & (changed > orders["updated_at"])
    orders.loc[later, "updated_at"] = changed[later]
    out["orders"] = orders
    return out
