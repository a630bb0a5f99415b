"""Turn query results into the facts and the plain-words sentence the home page shows.

Pure functions over DataFrames and small dataclasses, so they can be tested without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashboards.formatting import fmt_money, fmt_month, fmt_pct, fmt_pp, fmt_target, is_missing

HEADLINE_METRIC = "refund_cost_pct_of_profit"
# METRICS.md §3: when kpi_targets has no row, the total must stay below 5 % of profit.
DEFAULT_HEADLINE_TARGET_VALUE = 0.05


@dataclass(frozen=True)
class Target:
    """A KPI target; ``direction`` 'max' means stay at or below ``value``, 'min' at or above."""

    metric: str
    value: float
    direction: str

    def is_met(self, actual: float) -> bool:
        """Whether ``actual`` satisfies the target."""
        return actual <= self.value if self.direction == "max" else actual >= self.value


@dataclass(frozen=True)
class MonthKpis:
    """Portfolio KPI values of one month (``None`` where the mart has no value or NULL)."""

    month: date
    is_complete: bool
    values: dict[str, float | None] = field(default_factory=dict)

    def get(self, metric: str) -> float | None:
        """The value of ``metric``, or None when absent or NULL."""
        value = self.values.get(metric)
        return None if is_missing(value) else float(value)


@dataclass(frozen=True)
class TopCause:
    """The store x cause with the largest refund cost in a month."""

    store_id: str
    cause: str
    cause_label: str
    refund_cost: float


def to_date(value: object) -> date:
    """Convert a DuckDB/pandas date-like value to a ``datetime.date``."""
    return pd.Timestamp(value).date()


def parse_targets(targets: pd.DataFrame) -> dict[str, Target]:
    """Targets by metric from the ``kpi_targets`` query; the headline metric falls back to 5 % max."""
    parsed = {
        str(row.metric): Target(str(row.metric), float(row.target), str(row.direction).lower())
        for row in targets.itertuples(index=False)
        if not is_missing(row.target)
    }
    parsed.setdefault(HEADLINE_METRIC, Target(HEADLINE_METRIC, DEFAULT_HEADLINE_TARGET_VALUE, "max"))
    return parsed


def kpis_by_month(portfolio_kpis: pd.DataFrame, months: pd.DataFrame) -> dict[date, MonthKpis]:
    """Group the long ``portfolio_kpis`` rows into one :class:`MonthKpis` per row of the ``months`` query."""
    values: dict[date, dict[str, float | None]] = {}
    for row in portfolio_kpis.itertuples(index=False):
        values.setdefault(to_date(row.period_start), {})[str(row.metric)] = row.value
    result: dict[date, MonthKpis] = {}
    for row in months.itertuples(index=False):
        month = to_date(row.period_start)
        result[month] = MonthKpis(month, bool(row.is_complete), values.get(month, {}))
    return result


def headline_month(months: pd.DataFrame) -> date:
    """The latest complete month of the ``months`` query, or the latest month when none is complete yet."""
    complete = months[months["is_complete"].astype(bool)]
    source = complete if not complete.empty else months
    return max(to_date(value) for value in source["period_start"])


def top_cause(leakage: pd.DataFrame) -> TopCause | None:
    """The leakage row with the largest refund cost, or None when the month has no refund cost."""
    costs = pd.to_numeric(leakage["refund_cost"], errors="coerce") if not leakage.empty else None
    if costs is None or costs.isna().all():
        return None
    row = leakage.loc[costs.idxmax()]
    label = row["cause_label"] if not is_missing(row["cause_label"]) else row["cause"]
    return TopCause(str(row["store_id"]), str(row["cause"]), str(label), float(row["refund_cost"]))


def previous_month(month: date, by_month: dict[date, MonthKpis]) -> MonthKpis | None:
    """The KPIs of the latest month before ``month``, if the data has one."""
    earlier = [other for other in by_month if other < month]
    return by_month[max(earlier)] if earlier else None


def target_delta(value: float | None, target: Target | None) -> tuple[str | None, str]:
    """Delta text and colour for a ratio tile: ``("+2.9 pp vs 5 % target", "red")``; (None, "gray") if n/a."""
    if value is None or target is None:
        return None, "gray"
    colour = "green" if target.is_met(value) else "red"
    return f"{fmt_pp(value - target.value)} vs {fmt_target(target.value)} target", colour


def excess_over_target(kpis: MonthKpis, target: Target) -> float | None:
    """Refund cost above what the target allows (refund cost - target x gross profit), when positive."""
    cost, profit = kpis.get("refund_cost"), kpis.get("gross_profit")
    if target.direction != "max" or cost is None or profit is None or profit <= 0:
        return None
    excess = cost - target.value * profit
    return excess if excess > 0 else None


def _compare_with_target(pct: float, target: Target) -> str:
    """'above the **5 %** target' / 'below …' / 'at …'."""
    if pct > target.value:
        word = "above"
    elif pct < target.value:
        word = "below"
    else:
        word = "at"
    return f"{word} the **{fmt_target(target.value)}** target"


def _compare_with_previous(pct: float, previous: MonthKpis | None) -> str | None:
    """'up from 6.1 % in September 2026' (or down / level), None without a previous value."""
    prev_pct = previous.get(HEADLINE_METRIC) if previous else None
    if previous is None or prev_pct is None:
        return None
    if round(pct, 3) > round(prev_pct, 3):
        word = "up from"
    elif round(pct, 3) < round(prev_pct, 3):
        word = "down from"
    else:
        word = "level with"
    return f"{word} {fmt_pct(prev_pct)} in {fmt_month(previous.month)}"


def headline(
    kpis: MonthKpis,
    previous: MonthKpis | None,
    top: TopCause | None,
    target: Target,
    currency: str,
    scope_label: str = "the portfolio",
) -> str:
    """One Markdown sentence saying what matters for the month, e.g.

    "In **October 2026** refunds cost **7.9 %** of profit across the portfolio, above the **5 %** target by
    US$ 4,540 and up from 6.1 % in September 2026; the largest cause is **Supplier defect** at **lumen-au**
    (US$ 4,210)."  Dollar signs are escaped so Markdown does not read them as maths.
    """
    lead = f"In **{fmt_month(kpis.month)}**"
    if not kpis.is_complete:
        lead = f"So far in **{fmt_month(kpis.month)}** (month to date)"
    pct, cost = kpis.get(HEADLINE_METRIC), kpis.get("refund_cost")
    if pct is not None:
        parts = [f"{lead} refunds cost **{fmt_pct(pct)}** of profit across {scope_label}, "]
        parts.append(_compare_with_target(pct, target))
        excess = excess_over_target(kpis, target)
        versus = _compare_with_previous(pct, previous)
        extras = [f"by {fmt_money(excess, currency)}" if excess is not None else None, versus]
        extras = [extra for extra in extras if extra]
        if extras:
            parts.append(" " + " and ".join(extras))
    elif cost is not None:
        parts = [f"{lead} refunds cost **{fmt_money(cost, currency)}** across {scope_label}, "]
        parts.append("with no gross profit to measure them against")
    else:
        parts = [f"{lead} {scope_label} has no refund cost figures yet"]
    if top is not None:
        parts.append(
            f"; the largest cause is **{top.cause_label}** at **{top.store_id}** "
            f"({fmt_money(top.refund_cost, currency)})"
        )
    else:
        parts.append("; no refunds were recorded")
    return md_escape("".join(parts) + ".")


def md_escape(text: str) -> str:
    """Escape characters Streamlit Markdown would treat specially in running text (``$`` starts maths)."""
    return text.replace("$", "\\$")
