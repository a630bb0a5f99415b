"""Payments & integrations: authorisation rate, decline codes, Shopify-Stripe reconciliation issues (§10-11)."""

from __future__ import annotations

import streamlit as st

from dashboards import kpis, ui
from dashboards.filters import Scope
from dashboards.ui import Kpi

TITLE = "Payments & integrations"
KPIS = [
    Kpi("auth_success_rate", "Authorisation success rate"),
    Kpi("integration_issue_count", "Open integration issues", kind="count"),
]


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    ui.area_kpis(scope, KPIS, currency, "Payments")
    issues = kpis.fetch(["integration_issue_count"], scope)
    by_type = issues[issues["dimension"] == "issue_type"]
    if not by_type.empty:
        latest = by_type[by_type["period_start"] == by_type["period_start"].max()]
        st.subheader("Open integration issues by type")
        st.altair_chart(ui.bar(latest, "dimension_value", "value", "Open issues", fmt=",.0f"), width="stretch")
    performance = ui.mart_section("Payment performance", "payment_performance", scope, currency)
    if performance is not None:
        code = next((c for c in ("failure_code", "decline_code") if c in performance.columns), None)
        if code:
            st.caption("Declines by code")
            ui.count_chart(performance.dropna(subset=[code]), code, "Charges")
    ui.mart_section("Reconciliation issues", "integration_issues", scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
