"""Support quality: first response time, ≤ 3 exchanges, template usage, refund-ticket priority, per agent (§9)."""

from __future__ import annotations

from dashboards import ui
from dashboards.filters import Scope
from dashboards.ui import Kpi

TITLE = "Support quality"
KPIS = [
    Kpi("frt_within_target_rate", "First response within target"),
    Kpi("first_response_hours_p50", "First response (p50)", kind="hours"),
    Kpi("first_response_business_hours_p50", "First response, business hours (p50)", kind="hours"),
    Kpi("refund_ticket_first_response_business_hours_p50", "Refund tickets: first response (p50, business h)",
        kind="hours", help="Refund/issue tickets should be answered first: compare with all tickets."),
    Kpi("resolved_within_3_exchanges_rate", "Issues resolved in ≤ 3 exchanges"),
    Kpi("template_usage_rate", "Template usage"),
]


def render(scope: Scope) -> None:
    currency = ui.reporting_currency()
    ui.area_kpis(scope, KPIS, currency, "Support")
    ui.mart_section("Per agent and brand", "support_quality", scope, currency, what="Support quality per agent")
    ui.mart_section("Tickets", "support_tickets", scope, currency)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
