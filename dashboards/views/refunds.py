"""Refund leakage: cost by cause, preventable vs not, the unknown-cause share and the trend (METRICS.md §3)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, ui
from dashboards.filters import Scope
from dashboards.ui import Kpi

TITLE = "Refund leakage"
KPIS = [
    Kpi("refund_cost_pct_of_profit", "Refund cost % of profit"),
    Kpi("refund_cost", "Refund cost", kind="money"),
    Kpi("preventable_refund_cost", "Preventable refund cost", kind="money"),
    Kpi("preventable_share", "Preventable share"),
    Kpi("cause_coverage", "Cause coverage", help="Share of refund cost with a known cause; the rest is the "
        "unknown-cause share."),
    Kpi("tagged_share", "Tagged share", help="Share of refund cost whose cause was tagged by the team."),
]


def by_cause(rows: pd.DataFrame) -> pd.DataFrame:
    """Refund cost per cause over the rows, split into preventable and not preventable, largest first."""
    frame = rows.assign(cause_label=rows["cause_label"].fillna(rows["cause"]))
    grouped = (
        frame.groupby(["cause_label", "cause_owner"], dropna=False)[
            ["refund_count", "refund_cost", "preventable_refund_cost"]]
        .sum()
        .reset_index()
        .sort_values("refund_cost", ascending=False)
    )
    grouped["not_preventable_refund_cost"] = grouped["refund_cost"] - grouped["preventable_refund_cost"]
    total = grouped["refund_cost"].sum()
    grouped["share_of_refund_cost"] = grouped["refund_cost"] / total if total else float("nan")
    return grouped.reset_index(drop=True)


def preventable_chart(causes: pd.DataFrame, currency: str) -> alt.Chart:
    """Stacked bars per cause: preventable and not preventable refund cost."""
    long = causes.melt(
        id_vars=["cause_label"], value_vars=["preventable_refund_cost", "not_preventable_refund_cost"],
        var_name="kind", value_name="cost",
    )
    long["kind"] = long["kind"].map({"preventable_refund_cost": "Preventable",
                                     "not_preventable_refund_cost": "Not preventable"})
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("sum(cost):Q", title=f"Refund cost ({currency})", axis=alt.Axis(format=",.0f")),
            y=alt.Y("cause_label:N", title="Cause", sort=list(causes["cause_label"])),
            color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["Preventable", "Not preventable"],
                                                                  range=["#d62728", "#9e9e9e"])),
            tooltip=[alt.Tooltip("cause_label:N", title="Cause"), alt.Tooltip("kind:N", title=" "),
                     alt.Tooltip("sum(cost):Q", title=f"Refund cost ({currency})", format=",.2f")],
        )
    )


def cause_trend_chart(rows: pd.DataFrame, currency: str) -> alt.Chart:
    """Monthly refund cost stacked by cause."""
    frame = rows.assign(cause_label=rows["cause_label"].fillna(rows["cause"]))
    monthly = frame.groupby(["period_start", "cause_label"], as_index=False)["refund_cost"].sum()
    return (
        alt.Chart(monthly)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(period_start):O", title="Month"),
            y=alt.Y("refund_cost:Q", title=f"Refund cost ({currency})", axis=alt.Axis(format=",.0f")),
            color=alt.Color("cause_label:N", title="Cause"),
            tooltip=[alt.Tooltip("yearmonth(period_start):O", title="Month"),
                     alt.Tooltip("cause_label:N", title="Cause"),
                     alt.Tooltip("refund_cost:Q", title=f"Refund cost ({currency})", format=",.2f")],
        )
    )


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    values = ui.area_kpis(scope, KPIS, currency, "Refund leakage")
    coverage = values[(values["metric"] == "cause_coverage") & values["dimension"].isna()].dropna(subset=["value"])
    if not coverage.empty:
        latest = coverage.sort_values("period_start").iloc[-1]
        st.markdown(f"**Unknown-cause share** in {pd.Timestamp(latest['period_start']):%B %Y}: "
                    f"**{ui.fmt_pct(1 - latest['value'])}** of refund cost has no known cause (1 − cause coverage).")
    rows = data.run_query("leakage_in_range", {"start": scope.start, "end": scope.end})
    rows = scope.filter_frame(rows).reset_index(drop=True)
    if rows.empty:
        st.info("No refunds recorded in the selected stores and dates.")
        return
    causes = by_cause(rows)
    st.subheader("By cause: preventable vs not preventable")
    st.altair_chart(preventable_chart(causes, currency), width="stretch")
    ui.table(causes, "refund_cost_by_cause", currency)
    st.subheader("Trend by cause")
    st.altair_chart(cause_trend_chart(rows, currency), width="stretch")
    st.subheader("Rows: store × month × cause")
    ui.table(rows, "refund_leakage_by_cause", currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
