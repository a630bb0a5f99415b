"""Altair charts for the dashboard: each function takes a DataFrame and returns a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboards.formatting import fmt_target

TARGET_COLOUR = "#d62728"


def target_rule(target: float, axis: str = "x") -> alt.LayerChart:
    """A dashed rule at ``target`` (a ratio) on the given axis, labelled '5 % target'."""
    frame = pd.DataFrame({"target": [target], "label": [f"{fmt_target(target)} target"]})
    base = alt.Chart(frame)
    encoding = {axis: alt.X("target:Q") if axis == "x" else alt.Y("target:Q")}
    rule = base.mark_rule(color=TARGET_COLOUR, strokeDash=[6, 4], size=2).encode(**encoding)
    text_kwargs = {"dy": -6, "baseline": "bottom"} if axis == "y" else {"dx": 4, "baseline": "top"}
    label = base.mark_text(color=TARGET_COLOUR, align="left", **text_kwargs).encode(**encoding, text="label:N")
    return alt.layer(rule, label)


def refund_pct_by_cause_chart(leakage: pd.DataFrame, target: float, currency: str) -> alt.LayerChart:
    """Stacked horizontal bars: refund cost % of profit per store, split by cause, with the target rule.

    ``leakage`` has the columns of the ``leakage_by_cause`` query (one row per store x cause of one month).
    Rows whose percentage is NULL (no gross profit) are left out.
    """
    frame = leakage.copy()
    frame["cause_label"] = frame["cause_label"].fillna(frame["cause"])
    frame = frame.dropna(subset=["refund_cost_pct_of_profit"])
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "sum(refund_cost_pct_of_profit):Q",
                title="Refund cost, % of store gross profit",
                axis=alt.Axis(format=".0%"),
            ),
            y=alt.Y("store_id:N", title="Store", sort="-x"),
            color=alt.Color("cause_label:N", title="Cause"),
            order=alt.Order("refund_cost_pct_of_profit:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("store_id:N", title="Store"),
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("market:N", title="Market"),
                alt.Tooltip("cause_label:N", title="Cause"),
                alt.Tooltip("cause_owner:N", title="Owner"),
                alt.Tooltip("refund_cost_pct_of_profit:Q", title="% of profit", format=".1%"),
                alt.Tooltip("refund_cost:Q", title=f"Refund cost ({currency})", format=",.2f"),
                alt.Tooltip("refund_count:Q", title="Refunds"),
            ],
        )
    )
    return alt.layer(bars, target_rule(target, axis="x"))


def portfolio_trend_chart(trend: pd.DataFrame, target: float) -> alt.LayerChart:
    """Line of the portfolio refund cost % of profit by month (columns ``period_start``, ``value``) + target."""
    frame = trend.dropna(subset=["value"])
    line = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title="Month", axis=alt.Axis(format="%b %Y", tickCount="month")),
            y=alt.Y("value:Q", title="Refund cost, % of gross profit", axis=alt.Axis(format=".0%")),
            tooltip=[
                alt.Tooltip("period_start:T", title="Month", format="%B %Y"),
                alt.Tooltip("value:Q", title="% of profit", format=".1%"),
            ],
        )
    )
    return alt.layer(line, target_rule(target, axis="y"))


KIND_AXIS = {"pct": ".0%", "money": ",.0f", "count": ",.0f", "hours": ",.1f", "days": ",.1f"}
KIND_TOOLTIP = {"pct": ".1%", "money": ",.2f", "count": ",.0f", "hours": ",.1f", "days": ",.1f"}
KIND_TITLE = {"pct": "%", "count": "count", "hours": "hours", "days": "days"}


def kpi_trend_chart(rows: pd.DataFrame, kind: str, currency: str, target: float | None = None) -> alt.Chart:
    """Lines by month of KPIs of one kind (columns ``period_start``, ``label``, ``value``), with a target rule."""
    title = currency if kind == "money" else KIND_TITLE.get(kind, "value")
    line = (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title="Month", axis=alt.Axis(format="%b %Y", tickCount="month")),
            y=alt.Y("value:Q", title=title, axis=alt.Axis(format=KIND_AXIS.get(kind, ",.2f"))),
            color=alt.Color("label:N", title="KPI"),
            tooltip=[
                alt.Tooltip("label:N", title="KPI"),
                alt.Tooltip("period_start:T", title="Month", format="%B %Y"),
                alt.Tooltip("value:Q", title=title, format=KIND_TOOLTIP.get(kind, ",.2f")),
            ],
        )
    )
    return alt.layer(line, target_rule(target, axis="y")) if target is not None and kind == "pct" else line


def bar_chart(frame: pd.DataFrame, category: str, value: str, title: str, fmt: str = ",.2f") -> alt.Chart:
    """Horizontal bars of ``value`` per ``category``, largest on top; ``title`` names the value axis."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=fmt.replace(".2f", ".0f"))),
            y=alt.Y(f"{category}:N", title=None, sort="-x"),
            tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", title=title, format=fmt)],
        )
    )


def pareto_chart(frame: pd.DataFrame, category: str, currency: str) -> alt.LayerChart:
    """Pareto: leak cost bars per ``category`` (largest first) and the cumulative share line on a second axis.

    ``frame`` has ``category``, ``leak_cost`` and ``cumulative_share`` and is already sorted largest first.
    """
    order = list(frame[category].astype(str))
    base = alt.Chart(frame).encode(x=alt.X(f"{category}:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        y=alt.Y("leak_cost:Q", title=f"Leak cost ({currency})", axis=alt.Axis(format=",.0f")),
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip("leak_cost:Q", title=f"Leak cost ({currency})", format=",.2f"),
            alt.Tooltip("cumulative_share:Q", title="Cumulative share", format=".0%"),
        ],
    )
    line = base.mark_line(point=True, color=TARGET_COLOUR).encode(
        y=alt.Y("cumulative_share:Q", title="Cumulative share of leak cost", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
    )
    return alt.layer(bars, line).resolve_scale(y="independent")


def monthly_stack_chart(frame: pd.DataFrame, category: str, value: str, title: str) -> alt.Chart:
    """Bars by month (``period_start``) of ``value``, stacked by ``category``; ``title`` names the value axis."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(period_start):O", title="Month"),
            y=alt.Y(f"sum({value}):Q", title=title, axis=alt.Axis(format=",.0f")),
            color=alt.Color(f"{category}:N", title=category.replace("_", " ").capitalize()),
            tooltip=[
                alt.Tooltip("yearmonth(period_start):O", title="Month"),
                alt.Tooltip(f"{category}:N"),
                alt.Tooltip(f"sum({value}):Q", title=title, format=",.2f"),
            ],
        )
    )
