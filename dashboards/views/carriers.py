"""Carriers & claims: on-time and transit per carrier, claim filing and recovery (METRICS.md §7-8)."""

from __future__ import annotations

from dashboards import ui
from dashboards.filters import Scope
from dashboards.ui import Kpi

TITLE = "Carriers & claims"
KPIS = [
    Kpi("carrier_on_time_rate", "Carrier on-time rate"),
    Kpi("carrier_transit_days_p50", "Transit days (p50)", kind="days"),
    Kpi("eligible_claim_parcels", "Parcels eligible for a claim", kind="count"),
    Kpi("claim_filing_rate", "Claim filing rate"),
    Kpi("claim_recovery_rate", "Claim recovery rate"),
    Kpi("compensation_recovered", "Compensation recovered", kind="money"),
    Kpi("unfiled_past_window_count", "Unfiled, past the claim window", kind="count",
        help="Eligible parcels never claimed whose claim window has closed: money left on the table."),
]


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    ui.area_kpis(scope, KPIS, currency, "Carrier")
    ui.mart_section("Carrier performance (parcels by delivery month)", "carrier_performance", scope, currency,
                    date_column="delivery_period_start")
    claims = ui.mart_section("Carrier claims (eligible parcels)", "carrier_claims", scope, currency)
    if claims is not None and not claims.empty:
        ui.count_chart(claims.assign(claim_status=claims["claim_status"].fillna("not filed")), "claim_status",
                       "Eligible parcels by claim status")


if __name__ == "__main__":
    ui.run_page(TITLE, render)
