"""Chargebacks: dispute rates vs the Visa and Mastercard thresholds, % preventable, reasons, deadlines (§6)."""

from __future__ import annotations

import streamlit as st

from dashboards import ui
from dashboards.filters import Scope
from dashboards.kpis import KpiTarget
from dashboards.ui import Kpi

TITLE = "Chargebacks"
KPIS = [
    Kpi("dispute_count", "Chargebacks", kind="count"),
    Kpi("chargeback_cost", "Chargeback cost", kind="money"),
    Kpi("preventable_dispute_share", "Preventable chargebacks"),
    Kpi("dispute_win_rate", "Win rate"),
    Kpi("dispute_rate_visa", "Visa dispute rate"),
    Kpi("dispute_rate_mastercard", "Mastercard dispute rate"),
    Kpi("disputes_at_risk", "Deadlines at risk (72 h)", kind="count"),
    Kpi("disputes_missed", "Deadlines missed", kind="count"),
]
# Card-scheme thresholds from METRICS.md §6 (VAMP excessive; Mastercard ECM / HECM need the dispute count too).
SCHEME_THRESHOLDS = {
    "dispute_rate_visa": ("Visa VAMP excessive", 0.015, None),
    "dispute_rate_mastercard": ("Mastercard ECM", 0.015, 100),
}
HECM = ("Mastercard HECM", 0.03, 300)


def render_thresholds(values, month, currency: str) -> None:  # noqa: ANN001 - DataFrame, date
    """Each scheme rate against its programme threshold (red at or above it)."""
    from dashboards.kpis import latest

    st.subheader("Against the card-scheme thresholds")
    columns = st.columns(3)
    disputes = latest(values, "dispute_count", month)
    rows = [(m, *t) for m, t in SCHEME_THRESHOLDS.items()] + [("dispute_rate_mastercard", *HECM)]
    for column, (metric, name, rate, min_count) in zip(columns, rows, strict=True):
        value = latest(values, metric, month)
        # A threshold is a level to stay under: 'max' just below it, so reaching it is red.
        target = KpiTarget(metric, rate - 1e-12, "max")
        ui.kpi_tile(column, Kpi(metric, f"{name} (≥ {ui.fmt_target(rate)})"), value, target, currency,
                    available=metric in set(values["metric"]))
        if min_count is not None:
            count = ui.fmt_value(disputes, "count", currency)
            column.caption(f"Also needs ≥ {min_count} disputes a month (this month: {count}).")


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    values = ui.area_kpis(scope, KPIS, currency, "Chargeback")
    if not values.empty:
        render_thresholds(values, ui.report_month(scope), currency)
    disputes = ui.mart_section("Disputes", "chargebacks", scope, currency)
    if disputes is not None:
        if "reason" in disputes.columns:
            st.caption("Disputes by reason")
            ui.count_chart(disputes, "reason", "Disputes")
        if "is_preventable" in disputes.columns and not disputes.empty:
            share = disputes["is_preventable"].fillna(False).astype(bool).mean()
            st.markdown(f"**{ui.fmt_pct(share)}** of these {len(disputes):,} disputes were preventable "
                        "(`is_preventable`, METRICS.md §6).")
        flag = next((c for c in ("is_at_risk", "at_risk") if c in disputes.columns), None)
        if flag:
            st.subheader("Deadlines at risk (evidence due within 72 h)")
            at_risk = disputes[disputes[flag].fillna(False).astype(bool)]
            sort = [c for c in ("evidence_due_by",) if c in at_risk.columns]
            ui.table(at_risk.sort_values(sort) if sort else at_risk, "chargebacks_at_risk", currency)
    ui.mart_section("Rates by store and card brand", "chargeback_rates", scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
