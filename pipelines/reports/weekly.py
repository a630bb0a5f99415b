"""The weekly KPI report: the six KPIs of the job post, this week vs last week vs target, with the trend.

Weeks are the seven local days ending the day before the run's as-of date, and the seven before those. Each KPI
is recomputed for a week from the row-level marts with the METRICS.md definition (the `kpis` mart is monthly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.reports.render import Report, has_table, markdown_table, query


@dataclass(frozen=True)
class WeeklyKpi:
    metric: str
    label: str
    table: str  # the mart it needs
    sql: str  # one row, column `value`; parameters: first day, last day
    kind: str  # rate | count


KPIS = (
    WeeklyKpi("refund_cost_pct_of_profit", "Refund cost as % of profit", "store_daily", """
        select sum(refund_cost) / nullif(sum(gross_profit), 0) as value
        from marts.store_daily where local_date between ? and ?""", "rate"),
    WeeklyKpi("frt_within_target_rate", "First responses within target", "support_tickets", """
        select avg(case when is_within_frt_target then 1.0 else 0.0 end) as value
        from marts.support_tickets
        where counts_for_frt_target and cast(created_at as date) between ? and ?""", "rate"),
    WeeklyKpi("resolved_within_3_exchanges_rate", "Issue tickets resolved within 3 exchanges", "support_tickets", """
        select avg(case when is_resolved_within_3_exchanges then 1.0 else 0.0 end) as value
        from marts.support_tickets
        where is_issue_ticket and is_resolved and cast(created_at as date) between ? and ?""", "rate"),
    WeeklyKpi("dispute_count", "Chargebacks", "chargebacks", """
        select count(*) as value from marts.chargebacks where local_date between ? and ?""", "count"),
    WeeklyKpi("preventable_dispute_share", "Chargebacks preventable", "chargebacks", """
        select avg(case when is_preventable then 1.0 else 0.0 end) as value
        from marts.chargebacks where local_date between ? and ?""", "rate"),
    WeeklyKpi("orders_within_48h_rate", "Orders shipped within 48 h", "orders_sla", """
        select avg(case when is_shipped_within_48h then 1.0 else 0.0 end) as value
        from marts.orders_sla
        where is_sla_decided and cast(clock_start_local as date) between ? and ?""", "rate"),
    WeeklyKpi("supplier_sla_hit_rate", "Supplier SLA hit rate", "supplier_sla", """
        select avg(case when is_dispatch_on_time and is_transit_on_time then 1.0 else 0.0 end) as value
        from marts.supplier_sla
        where is_dispatch_on_time is not null and is_transit_on_time is not null
            and cast(fulfilled_local as date) between ? and ?""", "rate"),
    WeeklyKpi("data_completeness", "Data completeness", "data_completeness", """
        select avg(case when passed then 1.0 else 0.0 end) as value
        from marts.data_completeness
        where run_id = (
            select run_id from marts.data_completeness
            -- a run on day D checks the data up to D - 1
            where cast(as_of as date) - 1 between ? and ? order by as_of desc, run_id limit 1
        )""", "rate"),
)


def weeks(as_of: datetime) -> tuple[tuple[date, date], tuple[date, date]]:
    last_day = as_of.date() - timedelta(days=1)
    this_week = (last_day - timedelta(days=6), last_day)
    return this_week, (this_week[0] - timedelta(days=7), this_week[0] - timedelta(days=1))


def kpi_value(serving: Path, kpi: WeeklyKpi, week: tuple[date, date]) -> float | None:
    value = query(serving, kpi.sql, list(week))["value"].iloc[0]
    return None if value is None or pd.isna(value) else float(value)


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if kind == "count" else f"{value:.1%}"


def _trend(now: float | None, before: float | None) -> str:
    if now is None or before is None or now == before:
        return "→"
    return "↑" if now > before else "↓"


def _status(value: float | None, target: tuple[float, str] | None) -> str:
    if value is None or target is None:
        return ""
    goal, direction = target
    met = value <= goal if direction == "max" else value >= goal
    return "on target" if met else "off target"


def build(serving: Path, as_of: datetime) -> Report:
    this_week, last_week = weeks(as_of)
    targets = {r.metric: (float(r.target), str(r.direction)) for r in
               query(serving, "select metric, target, direction from marts.kpi_targets").itertuples()}
    rows, figures, missing = [], {"this_week": [d.isoformat() for d in this_week]}, []
    for kpi in KPIS:
        if not has_table(serving, "marts", kpi.table):
            missing.append(f"{kpi.label} (marts.{kpi.table} is not published yet)")
            continue
        now, before = kpi_value(serving, kpi, this_week), kpi_value(serving, kpi, last_week)
        figures[kpi.metric] = {"this_week": now, "last_week": before}
        target = targets.get(kpi.metric)
        rows.append({
            "KPI": kpi.label,
            "this week": _fmt(now, kpi.kind),
            "last week": _fmt(before, kpi.kind),
            "trend": _trend(now, before),
            "target": "" if target is None else f"{'≤' if target[1] == 'max' else '≥'} {_fmt(target[0], kpi.kind)}",
            "status": _status(now, target),
        })
    off = [r["KPI"] for r in rows if r["status"] == "off target"]
    summary = (f"{len(off)} of {len(rows)} KPIs are off target: {', '.join(off)}." if off
               else f"All {len(rows)} KPIs with a target are on target.")
    text = [f"# Weekly KPI report — week of {this_week[0]:%d %b} to {this_week[1]:%d %b %Y}\n", summary + "\n",
            markdown_table(pd.DataFrame(rows))]
    if missing:
        text.append("Not reported: " + "; ".join(missing) + ".\n")
    return Report("weekly", f"Leakwatch weekly KPI report {this_week[1].isoformat()}", this_week[1],
                  "\n".join(text), figures)
