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
    if performance is not None and not performance.empty:
        if {"card_brand", "attempted_charges", "succeeded_charges"} <= set(performance.columns):
            by_brand = performance.groupby("card_brand", as_index=False)[["attempted_charges",
                                                                         "succeeded_charges"]].sum()
            by_brand["auth_success_rate"] = by_brand["succeeded_charges"] / by_brand["attempted_charges"].where(
                by_brand["attempted_charges"] > 0)
            st.caption("Authorisation success rate by card brand (succeeded / attempted charges, selected months)")
            st.altair_chart(ui.bar(by_brand, "card_brand", "auth_success_rate", "Auth success rate", fmt=".1%"),
                            width="stretch")
        if {"top_failure_code", "top_failure_code_count"} <= set(performance.columns):
            codes = (performance.dropna(subset=["top_failure_code"])
                     .groupby("top_failure_code", as_index=False)["top_failure_code_count"].sum())
            if not codes.empty:
                st.caption("Decline codes: the top failure code of each store × card brand × month, with its count")
                st.altair_chart(ui.bar(codes, "top_failure_code", "top_failure_code_count", "Declined charges",
                                       fmt=",.0f"), width="stretch")
    ui.mart_section("Reconciliation issues", "integration_issues", scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
