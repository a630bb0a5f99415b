"""Leakwatch home page: is refund leakage under target, and where does it come from?

Run with ``uv run streamlit run dashboards/app.py --server.address 127.0.0.1``. Reads the published
``serving.duckdb`` (``$LEAKWATCH_SERVING_DB``, default ``var/serving.duckdb``) read-only.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboards import charts, data
from dashboards.formatting import fmt_money, fmt_month, fmt_pct, fmt_target
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
    target_delta,
    top_cause,
)

logger = logging.getLogger(__name__)

TITLE = "Leakwatch — refund leakage"
DEFAULT_CURRENCY = "USD"
ALL_STORES = "All stores"
NO_DATA_HINT = (
    "Run `make demo` (sandbox, full pipeline run and publish) or `leakwatch run` to build and publish it, "
    "then reload this page."
)


def reporting_currency() -> str:
    """The reporting currency of the marts (USD, the config default, when there are no leakage rows yet)."""
    frame = data.run_query("reporting_currency")
    return str(frame.iloc[0, 0]) if not frame.empty else DEFAULT_CURRENCY


def leakage_rows(month: date, store_id: str | None = None) -> pd.DataFrame:
    """refund_leakage_by_cause rows of ``month`` (all stores when ``store_id`` is None)."""
    return data.run_query("leakage_by_cause", {"period_start": month, "store_id": store_id})


def fmt_as_of(as_of: object) -> str:
    """The run's as-of time as text (assumed UTC)."""
    return "unknown" if pd.isna(as_of) else f"{pd.Timestamp(as_of):%Y-%m-%d %H:%M} UTC"


def month_label(month: date, kpis: dict[date, MonthKpis]) -> str:
    """Selector label of a month, marking a month that is not complete yet."""
    suffix = "" if kpis[month].is_complete else " (to date)"
    return f"{fmt_month(month)}{suffix}"


def render_headline(by_month: dict[date, MonthKpis], months: pd.DataFrame, target: Target, currency: str) -> None:
    """The one-sentence summary of the latest complete month."""
    month = headline_month(months)
    kpis = by_month[month]
    sentence = headline(kpis, previous_month(month, by_month), top_cause(leakage_rows(month)), target, currency)
    st.markdown(f"### {sentence}")


def ratio_tile(column: DeltaGenerator, label: str, value: float | None, target: Target | None, **extra: Any) -> None:
    """A percentage tile, green when ``value`` meets ``target`` and red when not (no delta without a target)."""
    delta, colour = target_delta(value, target)
    column.metric(label, fmt_pct(value), delta=delta, delta_color=colour, delta_arrow="off", border=True, **extra)


def money_tile(column: DeltaGenerator, kpis: MonthKpis, previous: MonthKpis | None, currency: str) -> None:
    """The refund cost tile with the change against the previous month (an increase is red)."""
    cost = kpis.get("refund_cost")
    prev_cost = previous.get("refund_cost") if previous is not None else None
    delta = None
    if cost is not None and prev_cost is not None and previous is not None:
        delta = f"{fmt_money(cost - prev_cost, currency, signed=True)} vs {fmt_month(previous.month)}"
    column.metric(
        f"Refund cost ({currency})",
        fmt_money(cost, currency),
        delta=delta,
        delta_color="inverse",
        border=True,
        help=md_escape(f"Gross profit in the same month: {fmt_money(kpis.get('gross_profit'), currency)}."),
    )


def render_tiles(
    kpis: MonthKpis, previous: MonthKpis | None, targets: dict[str, Target], trend: list[float], currency: str
) -> None:
    """KPI tiles of the selected month for the whole portfolio."""
    pct_col, cost_col, share_col, coverage_col = st.columns(4)
    ratio_tile(
        pct_col,
        "Refund cost % of profit",
        kpis.get(HEADLINE_METRIC),
        targets[HEADLINE_METRIC],
        chart_data=trend or None,
        help="Refund cost / gross profit of the month, all stores; the line shows the months up to this one.",
    )
    money_tile(cost_col, kpis, previous, currency)
    preventable = fmt_money(kpis.get("preventable_refund_cost"), currency)
    ratio_tile(
        share_col,
        "Preventable share",
        kpis.get("preventable_share"),
        targets.get("preventable_share"),
        help=md_escape(f"{preventable} of the refund cost was preventable."),
    )
    ratio_tile(
        coverage_col,
        "Cause coverage",
        kpis.get("cause_coverage"),
        targets.get("cause_coverage"),
        help=f"Share of refund cost with a known cause; {fmt_pct(kpis.get('tagged_share'))} of it was tagged.",
    )


def render_cause_chart(rows: pd.DataFrame, month: date, target: Target, currency: str) -> None:
    """Refund cost % of profit by cause per store for the selected month."""
    st.subheader(f"Where refund cost goes, by store and cause — {fmt_month(month)}")
    if rows.empty:
        st.info(f"No refunds recorded in {fmt_month(month)}.")
        return
    st.altair_chart(charts.refund_pct_by_cause_chart(rows, target.value, currency), width="stretch")
    st.caption(
        "Each bar is a store's refund cost as a share of its own gross profit, split by cause; "
        f"the dashed line is the {fmt_target(target.value)} target."
    )


def render_trend(by_month: dict[date, MonthKpis], target: Target) -> None:
    """Portfolio refund cost % of profit over all months."""
    trend = pd.DataFrame(
        {
            "period_start": [pd.Timestamp(m) for m in sorted(by_month)],
            "value": [by_month[m].get(HEADLINE_METRIC) for m in sorted(by_month)],
        }
    )
    if trend["value"].notna().sum() < 2:
        return
    st.subheader("Portfolio trend")
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


def render_drilldown(month: date, stores: pd.DataFrame, currency: str) -> None:
    """refund_leakage_by_cause rows of the month, filterable by store, with a CSV download."""
    st.subheader(f"Drill-down: refund leakage by store and cause — {fmt_month(month)}")
    choice = st.selectbox("Store", [ALL_STORES, *stores["store_id"].astype(str)], key="drill_store")
    store_id = None if choice == ALL_STORES else choice
    rows = leakage_rows(month, store_id)
    columns = table_columns(currency)
    st.dataframe(rows, hide_index=True, column_order=list(columns), column_config=columns)
    suffix = f"_{store_id}" if store_id else ""
    st.download_button(
        "Download CSV",
        rows.to_csv(index=False).encode("utf-8"),
        file_name=f"refund_leakage_by_cause_{month:%Y-%m}{suffix}.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def render_page() -> None:
    """Query serving.duckdb and draw the page; raises data.ServingDbError when the file cannot be read."""
    months = data.run_query("months")
    if months.empty:
        st.info(f"`{data.serving_db_path()}` has no monthly KPIs yet. {NO_DATA_HINT}")
        return
    by_month = kpis_by_month(data.run_query("portfolio_kpis"), months)
    targets = parse_targets(data.run_query("kpi_targets"))
    target = targets[HEADLINE_METRIC]
    currency = reporting_currency()
    stores = data.run_query("stores")
    st.caption(
        f"{len(stores)} stores · reporting currency {currency} · data as of {fmt_as_of(months['as_of'].iloc[0])}"
    )
    render_headline(by_month, months, target, currency)

    options = sorted(by_month, reverse=True)
    month = st.selectbox("Month", options, index=0, format_func=lambda m: month_label(m, by_month), key="month")
    kpis = by_month[month]
    if not kpis.is_complete:
        st.caption(f"{fmt_month(month)} is not over yet: figures are month to date.")
    trend = [v for m in sorted(by_month) if m <= month and (v := by_month[m].get(HEADLINE_METRIC)) is not None]
    render_tiles(kpis, previous_month(month, by_month), targets, trend, currency)
    render_cause_chart(leakage_rows(month), month, target, currency)
    render_trend(by_month, target)
    render_drilldown(month, stores, currency)


def main() -> None:
    """Entry point: page setup, then the page or a friendly message when serving.duckdb cannot be read."""
    st.set_page_config(page_title="Leakwatch", page_icon=":material/water_drop:", layout="wide")
    st.title(TITLE)
    try:
        render_page()
    except data.ServingDbMissing:
        st.info(f"No published data yet: `{data.serving_db_path()}` does not exist. {NO_DATA_HINT}")
    except data.ServingDbError as exc:
        logger.warning("serving.duckdb unreadable: %s", exc)
        st.warning(str(exc))


if __name__ == "__main__":
    main()
