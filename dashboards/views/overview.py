"""Overview: refund leakage as % of profit against the 5 % target, the six KPIs of the job post, the sentence."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboards import charts, data, kpis, ui
from dashboards.filters import Scope
from dashboards.formatting import fmt_month
from dashboards.narrative import (
    HEADLINE_METRIC,
    MonthKpis,
    Target,
    headline,
    headline_month,
    kpis_by_month,
    md_escape,
    parse_targets,
    previous_month,
    top_cause,
)
from dashboards.ui import Kpi

TITLE = "Leakwatch — refund leakage"
ALL_STORES = "All stores"
REFUND_METRICS = [
    "orders_paid", "net_revenue", "gross_profit", "refund_cost", "refund_cost_pct_of_profit",
    "preventable_refund_cost", "preventable_share", "cause_coverage", "tagged_share",
]
# The KPIs the first job post measures the role on (/work/shared/seeds), besides refund cost % of profit.
SEED_KPIS = [
    Kpi("frt_within_target_rate", "First response within target", help="Support conversations answered within "
        "the brand's first-response target (METRICS.md §9)."),
    Kpi("resolved_within_3_exchanges_rate", "Issues resolved in ≤ 3 exchanges"),
    Kpi("dispute_count", "Chargebacks", kind="count", help="Disputes opened in the month (METRICS.md §6)."),
    Kpi("preventable_dispute_share", "Preventable chargebacks"),
    Kpi("orders_within_48h_rate", "Orders shipped within 48 h"),
    Kpi("supplier_sla_hit_rate", "Supplier SLA hit rate"),
    Kpi("data_completeness", "Data completeness", help="Passing data checks / checks at the last run."),
]


def leakage_rows(month: date, scope: Scope, store_id: str | None = None) -> pd.DataFrame:
    """refund_leakage_by_cause rows of ``month`` in the scope (one store when ``store_id`` is given)."""
    rows = data.run_query("leakage_by_cause", {"period_start": month, "store_id": store_id})
    return scope.filter_frame(rows).reset_index(drop=True)


def fmt_as_of(as_of: object) -> str:
    """The run's as-of time as text (assumed UTC)."""
    return "unknown" if pd.isna(as_of) else f"{pd.Timestamp(as_of):%Y-%m-%d %H:%M} UTC"


def month_label(month: date, by_month: dict[date, MonthKpis]) -> str:
    """Selector label of a month, marking a month that is not complete yet."""
    return f"{fmt_month(month)}{'' if by_month[month].is_complete else ' (to date)'}"


def render_tiles(kpis_: MonthKpis, previous: MonthKpis | None, targets: dict[str, Target], trend: list[float],
                 currency: str) -> None:
    """Refund tiles of the selected month for the scope."""
    pct_col, cost_col, share_col, coverage_col = st.columns(4)
    value, target = kpis_.get(HEADLINE_METRIC), targets[HEADLINE_METRIC]
    delta, colour = ui.delta_vs_target(value, kpis.KpiTarget(target.metric, target.value, target.direction), "pct",
                                       currency)
    pct_col.metric(
        "Refund cost % of profit", ui.fmt_value(value, "pct", currency), delta=delta, delta_color=colour,
        delta_arrow="off", border=True, chart_data=trend or None,
        help="Refund cost / gross profit of the month; the line shows the months up to this one.",
    )
    cost, prev_cost = kpis_.get("refund_cost"), previous.get("refund_cost") if previous is not None else None
    cost_delta = None
    if cost is not None and prev_cost is not None and previous is not None:
        cost_delta = f"{ui.fmt_money(cost - prev_cost, currency, signed=True)} vs {fmt_month(previous.month)}"
    cost_col.metric(
        f"Refund cost ({currency})", ui.fmt_money(cost, currency), delta=cost_delta, delta_color="inverse",
        border=True,
        help=md_escape(f"Gross profit in the same month: {ui.fmt_money(kpis_.get('gross_profit'), currency)}."),
    )
    for column, metric, label, extra in (
        (share_col, "preventable_share", "Preventable share",
         md_escape(f"{ui.fmt_money(kpis_.get('preventable_refund_cost'), currency)} of the refund cost was "
                   "preventable.")),
        (coverage_col, "cause_coverage", "Cause coverage",
         f"Share of refund cost with a known cause; {ui.fmt_pct(kpis_.get('tagged_share'))} of it was tagged."),
    ):
        goal = targets.get(metric)
        kpi_target = kpis.KpiTarget(goal.metric, goal.value, goal.direction) if goal else None
        value = kpis_.get(metric)
        delta, colour = ui.delta_vs_target(value, kpi_target, "pct", currency)
        column.metric(label, ui.fmt_value(value, "pct", currency), delta=delta, delta_color=colour,
                      delta_arrow="off", border=True, help=extra)


def render_seed_kpis(scope: Scope, month: date, currency: str) -> None:
    """The job post's KPIs for the month (as-of KPIs: the latest run), green/red against kpi_targets."""
    st.subheader(f"The KPIs the operation is measured on — {fmt_month(month)}")
    values = kpis.fetch([k.metric for k in SEED_KPIS], scope)
    ui.kpi_row(SEED_KPIS, values, month, kpis.targets(), currency)
    missing = [k.label for k in SEED_KPIS if k.metric not in set(values["metric"])]
    if missing:
        st.caption(f"n/a = not published in marts.kpis yet: {', '.join(missing)}.")
    if not scope.all_stores and len(scope.store_ids) > 1:
        st.caption("Rates are shown for one store or the whole portfolio; pick one store to see them for it.")


def render_cause_chart(rows: pd.DataFrame, month: date, target: Target, currency: str) -> None:
    """Refund cost % of profit by cause per store for the selected month."""
    st.subheader(f"Where refund cost goes, by store and cause — {fmt_month(month)}")
    if rows.empty:
        st.info(f"No refunds recorded in {fmt_month(month)}.")
        return
    st.altair_chart(charts.refund_pct_by_cause_chart(rows, target.value, currency), width="stretch")
    st.caption(
        "Each bar is a store's refund cost as a share of its own gross profit, split by cause; "
        f"the dashed line is the {ui.fmt_target(target.value)} target."
    )


def render_trend(by_month: dict[date, MonthKpis], target: Target) -> None:
    """Refund cost % of profit over the months of the range."""
    months = sorted(by_month)
    trend = pd.DataFrame({"period_start": [pd.Timestamp(m) for m in months],
                          "value": [by_month[m].get(HEADLINE_METRIC) for m in months]})
    if trend["value"].notna().sum() < 2:
        return
    st.subheader("Trend")
    st.altair_chart(charts.portfolio_trend_chart(trend, target.value), width="stretch")


def table_columns(currency: str) -> dict[str, object]:
    """Column configuration of the drill-down table (labels carry the reporting currency)."""
    money = {"format": "%.2f"}
    return {
        "store_id": st.column_config.TextColumn("Store"),
        "brand": st.column_config.TextColumn("Brand"),
        "market": st.column_config.TextColumn("Market"),
        "cause_label": st.column_config.TextColumn("Cause"),
        "cause_owner": st.column_config.TextColumn("Owner"),
        "refund_count": st.column_config.NumberColumn("Refunds", format="%d"),
        "refund_cost": st.column_config.NumberColumn(f"Refund cost ({currency})", **money),
        "preventable_refund_cost": st.column_config.NumberColumn(f"Preventable ({currency})", **money),
        "gross_profit": st.column_config.NumberColumn(f"Gross profit ({currency})", **money),
        "refund_cost_pct_of_profit": st.column_config.NumberColumn("% of profit", format="percent"),
    }


def render_drilldown(month: date, scope: Scope, currency: str) -> None:
    """refund_leakage_by_cause rows of the month, filterable by store, with a CSV download."""
    st.subheader(f"Drill-down: refund leakage by store and cause — {fmt_month(month)}")
    choice = st.selectbox("Store", [ALL_STORES, *scope.store_ids], key="drill_store")
    store_id = None if choice == ALL_STORES else choice
    rows = leakage_rows(month, scope, store_id)
    columns = table_columns(currency)
    suffix = f"_{store_id}" if store_id else ""
    ui.table(rows, f"refund_leakage_by_cause_{month:%Y-%m}{suffix}", currency, key="csv_drilldown",
             config=columns, column_order=list(columns))


def render(scope: Scope) -> None:
    """Query serving.duckdb and draw the page."""
    months = data.run_query("months")
    months = months[months["period_start"].map(scope.month_in_range)]
    if months.empty:
        st.info(f"`{data.serving_db_path()}` has no monthly KPIs in the selected dates. {ui.NO_DATA_HINT}")
        return
    values = kpis.fetch(REFUND_METRICS, scope)
    monthly = values[(values["grain"] == "month") & values["dimension"].isna()]
    by_month = kpis_by_month(monthly[["period_start", "metric", "value"]], months)
    targets = parse_targets(data.run_query("kpi_targets"))
    target = targets[HEADLINE_METRIC]
    currency = ui.reporting_currency()
    st.caption(f"{scope.label.capitalize() if scope.all_stores else scope.label} · {len(scope.store_ids)} stores "
               f"· reporting currency {currency} · data as of {fmt_as_of(months['as_of'].iloc[0])}")
    first = headline_month(months)
    sentence = headline(by_month[first], previous_month(first, by_month), top_cause(leakage_rows(first, scope)),
                        target, currency, scope.label)
    st.markdown(f"### {sentence}")

    options = sorted(by_month, reverse=True)
    month = st.selectbox("Month", options, index=0, format_func=lambda m: month_label(m, by_month), key="month")
    current = by_month[month]
    if not current.is_complete:
        st.caption(f"{fmt_month(month)} is not over yet: figures are month to date.")
    trend = [v for m in sorted(by_month) if m <= month and (v := by_month[m].get(HEADLINE_METRIC)) is not None]
    render_tiles(current, previous_month(month, by_month), targets, trend, currency)
    render_seed_kpis(scope, month, currency)
    render_cause_chart(leakage_rows(month, scope), month, target, currency)
    render_trend(by_month, target)
    render_drilldown(month, scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
