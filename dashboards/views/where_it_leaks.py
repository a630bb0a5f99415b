"""Where it leaks: leak cost by supplier, SKU, market, carrier (Pareto), and the fixes that move the number (§4).

Reads marts.leakage_concentration and marts.fix_candidates, whose windows (last full month, trailing 90 days) are
fixed by the pipeline's run; below them, the monthly `leak_cost` KPI by dimension follows the global filters.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, kpis, ui
from dashboards.filters import Scope
from dashboards.formatting import fmt_money, fmt_pct, is_missing
from dashboards.narrative import md_escape

TITLE = "Where it leaks"
WINDOWS = {"last_full_month": "Last full month", "trailing_90d": "Trailing 90 days"}
# Dimensions of marts.leakage_concentration, in the order the page offers them, and their labels.
DIMENSIONS = {
    "supplier": "Supplier", "sku": "SKU", "market": "Market", "carrier": "Carrier", "store": "Store",
    "carrier_market": "Carrier × market", "cause": "Cause", "agent": "Agent",
}
# Dimensions of the monthly `leak_cost` KPI (METRICS.md §13).
KPI_DIMENSIONS = ("supplier", "sku", "market", "carrier", "cause")
SAVING = "estimated_monthly_saving"
SAVING_HELP = (
    "Estimated monthly saving = the candidate's excess leak (its leak rate minus the portfolio leak rate, times "
    "its revenue) per month: the whole excess for the last full month, 30/90 of it for the trailing 90 days "
    "(computed in dashboards/queries/mart_fix_candidates.sql unless the mart publishes its own "
    "estimated_monthly_saving)."
)
PARETO_COLUMNS = ["pareto_rank", "dimension_value", "leak_cost", "preventable_leak_cost", "revenue", "leak_rate",
                  "share", "cumulative_share"]


def window_picker(frames: list[pd.DataFrame]) -> str:
    """The window switch (last full month / trailing 90 days) over the windows the marts hold."""
    present = set().union(*(set(f["time_window"]) for f in frames if f is not None))
    options = [w for w in WINDOWS if w in present] or list(WINDOWS)
    choice = st.segmented_control("Window", options, default=options[0], format_func=WINDOWS.get,
                                  key="where_window")
    return choice or options[0]


def pareto_rows(concentration: pd.DataFrame, window: str, dimension: str) -> pd.DataFrame:
    """The mart's rows of one window and dimension with leak cost, Pareto order (the mart's own rank)."""
    rows = concentration[(concentration["time_window"] == window) & (concentration["dimension"] == dimension)]
    rows = rows[rows["leak_cost"] > 0]
    return rows.sort_values("pareto_rank")[PARETO_COLUMNS].reset_index(drop=True)


def with_saving(candidates: pd.DataFrame) -> pd.DataFrame:
    """Fix candidates with ``estimated_monthly_saving``: the mart's own column, else the query's estimate."""
    if SAVING in candidates.columns:
        return candidates.drop(columns=["excess_leak_per_month"])
    return candidates.rename(columns={"excess_leak_per_month": SAVING})


def candidate_sentence(top: pd.Series, window: str, currency: str) -> str:
    """The sentence naming the top fix candidate of a window."""
    label = DIMENSIONS.get(str(top["dimension"]), str(top["dimension"]))
    label = label if label.isupper() else label.lower()
    saving = top[SAVING]
    text = (
        f"**Top fix ({WINDOWS[window].lower()}):** {label} **{top['dimension_value']}** leaks "
        f"**{fmt_pct(top['leak_rate'])}** of its revenue against {fmt_pct(top['portfolio_leak_rate'])} for the "
        f"portfolio, mostly *{top['dominant_cause']}* (owner: {top['owner']})"
    )
    if not is_missing(top.get("suggested_action")):
        text += f"; suggested action: {top['suggested_action']}"
    if not is_missing(saving):
        text += (f". Bringing it down to the portfolio rate would save about **{fmt_money(saving, currency)}** "
                 "a month")
    return md_escape(text + ".")


def render_concentration(concentration: pd.DataFrame, window: str, currency: str) -> None:
    """Dimension switch, Pareto chart (bars: leak cost; line: cumulative share) and the mart's rows."""
    rows = concentration[concentration["time_window"] == window]
    options = [d for d in DIMENSIONS if d in set(rows["dimension"])]
    if not options:
        st.info(f"marts.leakage_concentration has no rows for the {WINDOWS[window].lower()}.")
        return
    dimension = st.segmented_control("Slice by", options, default=options[0], format_func=DIMENSIONS.get,
                                     key="where_dim") or options[0]
    label = DIMENSIONS[dimension]
    table = pareto_rows(concentration, window, dimension)
    portfolio_rate = rows["portfolio_leak_rate"].dropna()
    st.subheader(f"Pareto of leak cost by {label.lower()} — {WINDOWS[window].lower()}")
    caption = "From `marts.leakage_concentration`. Bars: leak cost; line: cumulative share of the total leak."
    if not portfolio_rate.empty:
        caption += f" Portfolio leak rate: {fmt_pct(portfolio_rate.iloc[0])} of net revenue."
    st.caption(caption + " The window is fixed by the last run; the store and date filters do not apply here.")
    if table.empty:
        st.info(f"No leak cost by {label.lower()} in the {WINDOWS[window].lower()}.")
        return
    chart_rows = table.head(30).rename(columns={"dimension_value": dimension})
    st.altair_chart(charts.pareto_chart(chart_rows, dimension, currency), width="stretch")
    ui.table(table.rename(columns={"dimension_value": dimension}), f"leakage_concentration_{window}_{dimension}",
             currency, key="csv_pareto")


def render_candidates(candidates: pd.DataFrame, window: str, currency: str) -> None:
    """The fix candidates of the window with their estimated monthly saving, and the sentence on the top one."""
    st.subheader("Fix candidates and estimated monthly saving", help=SAVING_HELP)
    rows = candidates[candidates["time_window"] == window].reset_index(drop=True)
    if rows.empty:
        st.info(f"No fix candidate in the {WINDOWS[window].lower()}: no slice with preventable leak cost leaks at "
                "2 × the portfolio rate or more.")
        return
    st.markdown(candidate_sentence(rows.iloc[0], window, currency))
    st.caption(f"{len(rows):,} slices leaking at ≥ 2 × the portfolio rate with preventable cost, ranked by excess "
               "leak. " + SAVING_HELP)
    ui.table(rows.drop(columns=["time_window"]), f"fix_candidates_{window}", currency, key="csv_fix")


def render_kpi_trend(scope: Scope, currency: str) -> None:
    """Monthly `leak_cost` by dimension from marts.kpis, in the filtered stores and dates."""
    leak = kpis.fetch(["leak_cost"], scope)
    leak = leak[(leak["grain"] == "month") & leak["dimension"].isin(KPI_DIMENSIONS)]
    st.subheader("Leak cost by month")
    if leak.empty:
        ui.not_available("Monthly leak cost by supplier, SKU, market, carrier and cause", ["kpis (metric leak_cost)"])
        return
    options = [d for d in KPI_DIMENSIONS if d in set(leak["dimension"])]
    dimension = st.selectbox("Dimension", options, format_func=DIMENSIONS.get, key="where_kpi_dim")
    rows = leak[leak["dimension"] == dimension][["period_start", "dimension_value", "value"]]
    rows = rows.rename(columns={"dimension_value": dimension, "value": "leak_cost"})
    st.caption(f"`leak_cost` by {dimension} in marts.kpis for {scope.label}, months of the selected dates; the "
               "ten largest over the range are drawn.")
    top = rows.groupby(dimension)["leak_cost"].sum().nlargest(10).index
    st.altair_chart(charts.monthly_stack_chart(rows[rows[dimension].isin(top)], dimension, "leak_cost",
                                               f"Leak cost ({currency})"), width="stretch")
    ui.table(rows.sort_values(["period_start", "leak_cost"], ascending=[True, False]),
             f"leak_cost_by_{dimension}_by_month", currency, key="csv_leak_month")


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    published = data.mart_columns()
    concentration = data.run_query("mart_leakage_concentration") if "leakage_concentration" in published else None
    candidates = with_saving(data.run_query("mart_fix_candidates")) if "fix_candidates" in published else None
    missing = [name for name, frame in (("leakage_concentration", concentration), ("fix_candidates", candidates))
               if frame is None]
    if missing:
        ui.not_available("Leak concentration and fix candidates", missing)
    if concentration is not None or candidates is not None:
        window = window_picker([concentration, candidates])
        if concentration is not None:
            render_concentration(concentration, window, currency)
        if candidates is not None:
            render_candidates(candidates, window, currency)
    render_kpi_trend(scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
