"""Where it leaks: leak cost by supplier, SKU, market, carrier (and store, cause), Pareto, fix candidates (§4)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, kpis, ui
from dashboards.filters import Scope

TITLE = "Where it leaks"
# Dimensions of the `leak_cost` KPI (METRICS.md §13) and the label each gets on the page.
KPI_DIMENSIONS = {"supplier": "Supplier", "sku": "SKU", "market": "Market", "carrier": "Carrier", "cause": "Cause"}
# Slices refund_leakage_by_cause can give when `leak_cost` is not published: column -> label.
LEAKAGE_SLICES = {"market": "Market", "store_id": "Store", "cause_label": "Cause"}


def pareto(frame: pd.DataFrame, category: str) -> pd.DataFrame:
    """Leak cost per ``category``, largest first, with share, cumulative share and Pareto rank."""
    sums = frame.groupby(category, dropna=False, as_index=False)["leak_cost"].sum()
    sums = sums[sums["leak_cost"] != 0].sort_values("leak_cost", ascending=False).reset_index(drop=True)
    total = sums["leak_cost"].sum()
    sums["share"] = sums["leak_cost"] / total if total else float("nan")
    sums["cumulative_share"] = sums["share"].cumsum()
    sums["pareto_rank"] = range(1, len(sums) + 1)
    return sums


def slices(scope: Scope) -> dict[str, tuple[str, pd.DataFrame]]:
    """Available slices: label -> (source description, rows with the category column and ``leak_cost``)."""
    out: dict[str, tuple[str, pd.DataFrame]] = {}
    leak = kpis.fetch(["leak_cost"], scope)
    leak = leak[(leak["grain"] == "month") & leak["dimension"].notna()]
    for dimension, label in KPI_DIMENSIONS.items():
        rows = leak[leak["dimension"] == dimension]
        if not rows.empty:
            frame = rows.rename(columns={"dimension_value": label, "value": "leak_cost"})[[label, "leak_cost"]]
            out[label] = ("`leak_cost` by " + dimension + " in marts.kpis", frame)
    rows = scope.filter_frame(data.run_query("leakage_in_range", {"start": scope.start, "end": scope.end}))
    rows = rows.assign(cause_label=rows["cause_label"].fillna(rows["cause"]))
    for column, label in LEAKAGE_SLICES.items():
        if label not in out and not rows.empty:
            frame = rows.rename(columns={column: label, "refund_cost": "leak_cost"})[[label, "leak_cost"]]
            out[label] = ("refund cost in marts.refund_leakage_by_cause", frame)
    return out


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    available = slices(scope)
    missing = [label for dim, label in KPI_DIMENSIONS.items() if label not in available]
    if missing:
        ui.not_available(f"Leak cost by {', '.join(missing)}", ["kpis (metric leak_cost)"])
    if not available:
        st.info("No leak cost in the selected stores and dates.")
    else:
        st.caption("Sums over the months of the selected dates.")
        label = st.segmented_control("Slice by", list(available), default=next(iter(available)), key="where_dim")
        label = label or next(iter(available))
        source, frame = available[label]
        table = pareto(frame, label)
        st.subheader(f"Pareto of leak cost by {label.lower()}")
        st.caption(f"From {source}. Bars: leak cost; line: cumulative share of the total.")
        if not table.empty:
            st.altair_chart(charts.pareto_chart(table.head(30), label, currency), width="stretch")
        ui.table(table, f"leak_cost_by_{label.lower()}", currency, key="csv_pareto")
    ui.mart_section("Fix candidates and estimated saving", "fix_candidates", scope, currency,
                    what="Fix candidates (slices leaking ≥ 2 × the portfolio rate, with the excess as saving)")
    ui.mart_section("Leakage by dimension", "leakage_by_dimension", scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
