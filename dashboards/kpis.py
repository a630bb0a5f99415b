"""KPI values from ``marts.kpis`` for the filtered scope (portfolio, one store, or a subset of stores).

For the portfolio and for one store the mart's own rows are used as they are. For a subset of stores, counts and
money are summed and the two ratios whose parts are KPIs too are recomputed from those parts; any other ratio
(a rate, a percentile) cannot be combined from per-store values and is left empty rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboards import data
from dashboards.filters import Scope
from dashboards.formatting import is_missing

# Metrics whose store values add up to the value of a group of stores (counts and money).
ADDITIVE = frozenset(
    {
        "orders_paid", "net_revenue", "gross_profit", "refund_cost", "preventable_refund_cost", "leak_cost",
        "cash_before_credit_count", "over_limit_unapproved_count", "dispute_count", "chargeback_cost",
        "disputes_at_risk", "disputes_missed", "open_over_48h_count", "eligible_claim_parcels",
        "compensation_recovered", "unfiled_past_window_count", "integration_issue_count",
    }
)
# Ratios recomputed for a group of stores from two additive KPIs: metric -> (numerator, denominator).
RECOMPUTED = {
    "refund_cost_pct_of_profit": ("refund_cost", "gross_profit"),
    "preventable_share": ("preventable_refund_cost", "refund_cost"),
}
KEYS = ["period_start", "grain", "metric", "dimension", "dimension_value"]


@dataclass(frozen=True)
class KpiTarget:
    """A row of kpi_targets: 'max' = stay at or below ``value``, 'min' = at or above."""

    metric: str
    value: float
    direction: str

    def is_met(self, actual: float) -> bool:
        return actual <= self.value if self.direction == "max" else actual >= self.value


def targets() -> dict[str, KpiTarget]:
    """kpi_targets by metric."""
    frame = data.run_query("kpi_targets")
    return {
        str(r.metric): KpiTarget(str(r.metric), float(r.target), str(r.direction).lower())
        for r in frame.itertuples(index=False)
        if not is_missing(r.target)
    }


def fetch(metrics: list[str], scope: Scope) -> pd.DataFrame:
    """KPI rows of ``metrics`` for ``scope``, one value per (period, grain, metric, dimension, value).

    Month-grain rows outside the date range are dropped; as-of rows are kept (they describe the run).
    """
    needed = set(metrics)
    if not scope.all_stores and len(scope.store_ids) > 1:
        for metric in metrics:
            needed.update(RECOMPUTED.get(metric, ()))
    rows = data.run_query(
        "kpi_values",
        {"metrics": sorted(needed), "all_stores": scope.all_stores, "store_ids": list(scope.store_ids)},
    )
    columns = [*KEYS, "value"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows[(rows["grain"] != "month") | rows["period_start"].map(scope.month_in_range)]
    if scope.all_stores or len(scope.store_ids) == 1:
        frame = rows[columns]
    else:
        frame = _combine(rows)
    return frame[frame["metric"].isin(metrics)].reset_index(drop=True)


def _combine(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-store rows of several stores -> one row per key: sums, recomputed ratios, else NULL."""
    grouped = rows.fillna({"dimension": "", "dimension_value": ""}).groupby(KEYS, dropna=False)
    summed = grouped["value"].sum(min_count=1).reset_index()
    summed.loc[~summed["metric"].isin(ADDITIVE), "value"] = float("nan")
    for metric, (numerator, denominator) in RECOMPUTED.items():
        parts = summed[summed["metric"].isin([numerator, denominator])]
        wide = parts.pivot_table(index=[k for k in KEYS if k != "metric"], columns="metric", values="value")
        if numerator not in wide or denominator not in wide:
            continue
        ratio = (wide[numerator] / wide[denominator].where(wide[denominator] != 0)).rename("value").reset_index()
        ratio["metric"] = metric
        summed = pd.concat([summed[summed["metric"] != metric], ratio[summed.columns]], ignore_index=True)
    return summed.replace({"dimension": {"": None}, "dimension_value": {"": None}})


def month_values(frame: pd.DataFrame, metric: str, dimension: str | None = None) -> pd.DataFrame:
    """``period_start``, (``dimension_value``,) ``value`` of one month-grain metric, oldest first."""
    rows = frame[(frame["metric"] == metric) & (frame["grain"] == "month")]
    rows = rows[rows["dimension"].isna()] if dimension is None else rows[rows["dimension"] == dimension]
    keep = ["period_start", "value"] if dimension is None else ["period_start", "dimension_value", "value"]
    return rows[keep].sort_values(keep[:-1]).reset_index(drop=True)


def latest(frame: pd.DataFrame, metric: str, month: date | None = None) -> float | None:
    """The value of ``metric`` (no dimension) in ``month``, or its latest value (month or as-of grain)."""
    rows = frame[(frame["metric"] == metric) & frame["dimension"].isna()]
    if month is not None:
        monthly = rows[(rows["grain"] == "month") & (pd.to_datetime(rows["period_start"]) == pd.Timestamp(month))]
        rows = monthly if not monthly.empty else rows[rows["grain"] != "month"]
    if rows.empty:
        return None
    value = rows.sort_values("period_start")["value"].iloc[-1]
    return None if is_missing(value) else float(value)


def latest_month(frame: pd.DataFrame) -> date | None:
    """The latest month with any month-grain row in ``frame``."""
    months = frame.loc[frame["grain"] == "month", "period_start"]
    return None if months.empty else pd.Timestamp(months.max()).date()
