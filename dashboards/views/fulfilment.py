"""Fulfilment: the 48 h shipping SLA, open orders with their age, supplier SLA (METRICS.md §7)."""

from __future__ import annotations

import streamlit as st

from dashboards import ui
from dashboards.filters import Scope
from dashboards.ui import Kpi

TITLE = "Fulfilment"
KPIS = [
    Kpi("orders_within_48h_rate", "Orders shipped within 48 h"),
    Kpi("open_over_48h_count", "Open orders over 48 h", kind="count", help="Target 0: no order sits open."),
    Kpi("supplier_sla_hit_rate", "Supplier SLA hit rate"),
]


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    ui.area_kpis(scope, KPIS, currency, "Fulfilment")
    open_orders = ui.mart_section("Open orders, oldest first", "open_orders", scope, currency)
    if open_orders is not None and not open_orders.empty:
        over = int(open_orders["is_over_48h"].sum())
        st.caption(f"Open orders by age in business hours as of the last run: {over:,} of them past 48 h.")
        ui.count_chart(open_orders, "aging_bucket", "Open orders")
    ui.mart_section("Orders and the 48 h SLA", "orders_sla", scope, currency)
    ui.mart_section("Supplier SLA", "supplier_sla", scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
