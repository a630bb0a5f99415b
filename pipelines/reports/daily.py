"""The daily standup: yesterday's orders, late shipments, orders open > 48 h, refunds by cause, disputes due
within 72 h and the data-completeness status — short, written for an async channel.

"Yesterday" is the day before the run's as-of date (UTC date); orders and leaks are bucketed by each store's
local date (METRICS.md §0).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines.reports.render import Report, has_table, markdown_table, query


def _orders(serving: Path, day: date, figures: dict) -> str:
    frame = query(serving, """
        select store_id, orders_paid, net_revenue, gross_profit
        from marts.store_daily where local_date = ? order by store_id
    """, [day])
    figures["orders_paid"] = int(frame["orders_paid"].sum()) if len(frame) else 0
    figures["net_revenue"] = round(float(frame["net_revenue"].sum()), 2) if len(frame) else 0.0
    return (f"**{figures['orders_paid']:,} orders** paid, {figures['net_revenue']:,.2f} net revenue.\n\n"
            + markdown_table(frame, {"net_revenue": ",.2f", "gross_profit": ",.2f"}))


def _late_and_open(serving: Path, day: date, figures: dict) -> str:
    lines = []
    if has_table(serving, "marts", "orders_sla"):
        late = query(serving, """
            select count(*) as n from marts.orders_sla
            where cast(deadline_local as date) = ? and is_sla_decided and not is_shipped_within_48h
        """, [day])
        figures["late_shipments"] = int(late["n"].iloc[0])
        lines.append(f"- Late shipments (48 h deadline fell yesterday, not shipped in time): "
                     f"**{figures['late_shipments']}**")
    else:
        lines.append("- Late shipments: not available (marts.orders_sla is not published yet).")
    open_over = query(serving, """
        select value from marts.kpis
        where metric = 'open_over_48h_count' and store_id is null and grain = 'asof'
        order by period_start desc limit 1
    """)
    if len(open_over):
        figures["open_over_48h_count"] = int(open_over["value"].iloc[0])
        lines.append(f"- Orders open more than 48 business hours: **{figures['open_over_48h_count']}** (target 0)")
    else:
        lines.append("- Orders open more than 48 business hours: not available (no open_over_48h_count KPI).")
    return "\n".join(lines) + "\n"


def _refunds(serving: Path, day: date, figures: dict) -> str:
    frame = query(serving, """
        select cause, count(*) as events, sum(refund_cost) as refund_cost,
               sum(case when is_preventable then refund_cost else 0 end) as preventable_cost
        from marts.leak_events where local_date = ?
        group by cause order by refund_cost desc, cause
    """, [day])
    figures["refund_events"] = int(frame["events"].sum()) if len(frame) else 0
    figures["refund_cost"] = round(float(frame["refund_cost"].sum()), 2) if len(frame) else 0.0
    return (f"**{figures['refund_events']} leak events**, {figures['refund_cost']:,.2f} in total.\n\n"
            + markdown_table(frame, {"refund_cost": ",.2f", "preventable_cost": ",.2f"}))


def _disputes(serving: Path, figures: dict) -> str:
    if not has_table(serving, "marts", "chargebacks"):
        return "Not available (marts.chargebacks is not published yet).\n"
    frame = query(serving, """
        select dispute_id, store_id, reason, chargeback_cost as amount_at_stake, evidence_due_by
        from marts.chargebacks where is_at_risk order by evidence_due_by, dispute_id
    """)
    figures["disputes_at_risk"] = len(frame)
    head = f"**{len(frame)} disputes** need evidence within 72 hours.\n\n"
    return head + markdown_table(frame, {"amount_at_stake": ",.2f"})


def _completeness(serving: Path, figures: dict) -> str:
    if not has_table(serving, "marts", "data_completeness"):
        return "Not available (no check results published yet).\n"
    frame = query(serving, """
        select check_name, domain, severity, passed, observed
        from marts.data_completeness
        where run_id = (select run_id from marts.data_completeness order by as_of desc, run_id limit 1)
        order by passed, severity, check_name
    """)
    figures["checks"] = len(frame)
    figures["checks_passed"] = int(frame["passed"].sum())
    failing = frame[~frame["passed"]]
    head = f"{figures['checks_passed']} of {figures['checks']} checks pass."
    if failing.empty:
        return head + "\n"
    return head + " Failing:\n\n" + markdown_table(failing[["check_name", "domain", "severity", "observed"]])


def build(serving: Path, as_of: datetime) -> Report:
    day = as_of.date() - timedelta(days=1)
    figures: dict = {"day": day.isoformat()}
    sections = [
        f"# Daily standup — {day:%a %d %b %Y}\n",
        "## Orders\n" + _orders(serving, day, figures),
        "## Shipping\n" + _late_and_open(serving, day, figures),
        "## Refunds and other leaks by cause\n" + _refunds(serving, day, figures),
        "## Disputes due within 72 hours\n" + _disputes(serving, figures),
        "## Data completeness\n" + _completeness(serving, figures),
    ]
    return Report("daily", f"Leakwatch daily standup {day.isoformat()}", day, "\n".join(sections), figures)
