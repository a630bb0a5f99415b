"""Refund leakage: cost by cause, preventable vs not, the unknown-cause share and the trend (METRICS.md §3)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import charts, data, kpis, ui
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
    Kpi("matrix_compliance_rate", "Decision-matrix compliance", help="Leak events resolved with the matrix's "
        "first choice, or an allowed resolution with an escalation (METRICS.md §5)."),
    Kpi("cash_before_credit_count", "Cash before credit", kind="count", help="Cash refunds where store credit or a "
        "replacement was the first choice."),
    Kpi("over_limit_unapproved_count", "Over limit, unapproved", kind="count", help="Refunds above the approver's "
        "limit without an approved_by escalation."),
    Kpi("return_cycle_days_p50", "Return cycle (p50)", kind="days"),
    Kpi("exchange_share", "Exchange share"),
]


def cause_labels(rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """cause code -> (label, owner) from the refund_leakage_by_cause rows (the code itself when unlabelled)."""
    labelled = rows.assign(cause_label=rows["cause_label"].fillna(rows["cause"])).drop_duplicates("cause")
    return {str(r.cause): (str(r.cause_label), str(r.cause_owner)) for r in labelled.itertuples(index=False)}


def by_cause(values: pd.DataFrame, labels: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """`refund_cost` by cause from marts.kpis summed over the months shown, with its share, largest first."""
    rows = kpis.month_values(values, "refund_cost", "cause")
    grouped = rows.groupby("dimension_value", as_index=False)["value"].sum(min_count=1)
    grouped = grouped.rename(columns={"dimension_value": "cause", "value": "refund_cost"})
    grouped = grouped[grouped["refund_cost"].fillna(0) != 0].sort_values(["refund_cost", "cause"],
                                                                          ascending=[False, True])
    grouped.insert(1, "cause_label", grouped["cause"].map(lambda c: labels.get(c, (c, None))[0]))
    grouped.insert(2, "cause_owner", grouped["cause"].map(lambda c: labels.get(c, (c, None))[1]))
    total = grouped["refund_cost"].sum()
    grouped["refund_cost_share"] = grouped["refund_cost"] / total if total else float("nan")
    return grouped.reset_index(drop=True)


def preventable_by_month(values: pd.DataFrame) -> pd.DataFrame:
    """Per month: refund cost, preventable and not preventable refund cost (marts.kpis totals)."""
    cost = kpis.month_values(values, "refund_cost").rename(columns={"value": "refund_cost"})
    preventable = kpis.month_values(values, "preventable_refund_cost")
    frame = cost.merge(preventable.rename(columns={"value": "preventable_refund_cost"}), on="period_start",
                       how="inner")
    frame["not_preventable_refund_cost"] = frame["refund_cost"] - frame["preventable_refund_cost"]
    return frame


def unknown_share_by_month(values: pd.DataFrame) -> pd.DataFrame:
    """Per month: cause coverage and the unknown-cause share (1 − cause_coverage), months with a value only."""
    frame = kpis.month_values(values, "cause_coverage").dropna(subset=["value"])
    frame = frame.rename(columns={"value": "cause_coverage"})
    frame["unknown_cause_share"] = 1 - frame["cause_coverage"]
    return frame


def preventable_chart(frame: pd.DataFrame, currency: str) -> alt.Chart:
    """Stacked bars per month: preventable and not preventable refund cost."""
    long = frame.melt(id_vars=["period_start"], value_vars=["preventable_refund_cost", "not_preventable_refund_cost"],
                      var_name="kind", value_name="cost")
    long["kind"] = long["kind"].map({"preventable_refund_cost": "Preventable",
                                     "not_preventable_refund_cost": "Not preventable"})
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(period_start):O", title="Month"),
            y=alt.Y("cost:Q", title=f"Refund cost ({currency})", axis=alt.Axis(format=",.0f")),
            color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["Preventable", "Not preventable"],
                                                                  range=["#d62728", "#9e9e9e"])),
            tooltip=[alt.Tooltip("yearmonth(period_start):O", title="Month"), alt.Tooltip("kind:N", title=" "),
                     alt.Tooltip("cost:Q", title=f"Refund cost ({currency})", format=",.2f")],
        )
    )


def unknown_share_chart(frame: pd.DataFrame, target: float | None) -> alt.Chart:
    """Line of the unknown-cause share by month, with the most it may be under the cause-coverage target."""
    rows = frame.rename(columns={"unknown_cause_share": "value"})
    line = (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title="Month", axis=alt.Axis(format="%b %Y", tickCount="month")),
            y=alt.Y("value:Q", title="Unknown-cause share of refund cost", axis=alt.Axis(format=".0%")),
            tooltip=[alt.Tooltip("period_start:T", title="Month", format="%B %Y"),
                     alt.Tooltip("value:Q", title="Unknown-cause share", format=".1%")],
        )
    )
    return alt.layer(line, charts.target_rule(target, axis="y")) if target is not None else line


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    ui.area_kpis(scope, KPIS, currency, "Refund leakage")
    values = kpis.fetch(["refund_cost", "preventable_refund_cost", "cause_coverage"], scope)
    rows = data.run_query("leakage_in_range", {"start": scope.start, "end": scope.end})
    rows = scope.filter_frame(rows).reset_index(drop=True)
    if values.empty and rows.empty:
        st.info("No refunds recorded in the selected stores and dates.")
        return
    st.caption(f"From `refund_cost` (total and by cause), `preventable_refund_cost` and `cause_coverage` in "
               f"marts.kpis for {scope.label}, months of the selected dates.")

    unknown = unknown_share_by_month(values)
    if not unknown.empty:
        month = ui.report_month(scope)
        shown = unknown[unknown["period_start"] == pd.Timestamp(month)] if month is not None else unknown
        latest = (shown if not shown.empty else unknown).iloc[-1]
        st.markdown(f"**Unknown-cause share** in {pd.Timestamp(latest['period_start']):%B %Y}: "
                    f"**{ui.fmt_pct(latest['unknown_cause_share'])}** of refund cost has no known cause "
                    "(1 − cause coverage).")
    elif not scope.all_stores and len(scope.store_ids) > 1:
        st.caption("The unknown-cause share (1 − cause coverage) is shown for one store or the whole portfolio.")

    causes = by_cause(values, cause_labels(rows))
    st.subheader("By cause")
    if causes.empty:
        st.info("No refund cost by cause in the selected stores and dates.")
    else:
        st.altair_chart(ui.bar(causes, "cause_label", "refund_cost", f"Refund cost ({currency})"), width="stretch")
        ui.table(causes, "refund_cost_by_cause", currency)

    split = preventable_by_month(values)
    if not split.empty:
        st.subheader("Preventable vs not preventable, by month")
        st.altair_chart(preventable_chart(split, currency), width="stretch")
        ui.table(split, "preventable_refund_cost_by_month", currency, key="csv_preventable")

    if not unknown.empty:
        st.subheader("Unknown-cause share, by month")
        goal = kpis.targets().get("cause_coverage")
        st.altair_chart(unknown_share_chart(unknown, None if goal is None else 1 - goal.value), width="stretch")
        ui.table(unknown, "unknown_cause_share_by_month", currency, key="csv_unknown")

    by_month = kpis.month_values(values, "refund_cost", "cause").rename(
        columns={"dimension_value": "cause", "value": "refund_cost"})
    by_month = by_month[by_month["refund_cost"].fillna(0) != 0]
    if by_month["period_start"].nunique() > 0:
        st.subheader("Trend by cause")
        st.altair_chart(charts.monthly_stack_chart(by_month, "cause", "refund_cost", f"Refund cost ({currency})"),
                        width="stretch")

    if not rows.empty:
        st.subheader("Rows: store × month × cause")
        st.caption("From marts.refund_leakage_by_cause, with the preventable part of each cause.")
        ui.table(rows, "refund_leakage_by_cause", currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
