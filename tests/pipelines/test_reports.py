"""The ops reports: written by the nightly run after publishing, and every number in them equals the marts."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.alerts import AlertConfig
from pipelines.reports import daily, weekly
from pipelines.reports.render import email
from tests.conftest import Leakwatch, free_port


def _as_of(leakwatch: Leakwatch) -> datetime:
    config = tomllib.loads((leakwatch.var_dir / "sandbox" / ".dlt" / "config.toml").read_text())
    return datetime.fromisoformat(config["leakwatch"]["as_of"].replace("Z", "+00:00"))


def _sql(serving: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def test_the_run_writes_both_reports_as_markdown_and_html(published_tiny: Leakwatch) -> None:
    day = (_as_of(published_tiny) - timedelta(days=1)).date()
    reports = published_tiny.var_dir / "reports"
    assert (reports / f"daily-{day.isoformat()}.md").exists()
    html = (reports / f"daily-{day.isoformat()}.html").read_text()
    assert "<table>" in html and "Daily standup" in html
    assert (reports / f"weekly-{day.isoformat()}.md").exists()


def test_daily_standup_numbers_equal_the_marts(published_tiny: Leakwatch) -> None:
    serving, as_of = published_tiny.serving, _as_of(published_tiny)
    report = daily.build(serving, as_of)
    day = as_of.date() - timedelta(days=1)
    # store_daily is consistent with the month's kpis: its days add up to orders_paid of the month
    month = _sql(serving, "select sum(orders_paid) as n from marts.store_daily where date_trunc('month', local_date) "
                          "= date_trunc('month', cast(? as date))", [day])["n"].iloc[0]
    kpi = _sql(serving, "select value from marts.kpis where metric = 'orders_paid' and store_id is null "
                        "and dimension is null and period_start = date_trunc('month', cast(? as date))", [day])
    assert float(month) == kpi["value"].iloc[0]
    orders = _sql(serving, "select count(*) as n from marts.store_daily where local_date = ?", [day])
    assert orders["n"].iloc[0] > 0, "the tiny world has orders every day"
    expected_orders = int(_sql(serving, "select sum(orders_paid) as n from marts.store_daily where local_date = ?",
                               [day])["n"].iloc[0])
    assert report.figures["orders_paid"] == expected_orders
    assert f"**{expected_orders:,} orders**" in report.markdown
    leaks = _sql(serving, "select refund_cost from marts.leak_events where local_date = ?", [day])
    assert report.figures["refund_events"] == len(leaks)
    assert report.figures["refund_cost"] == pytest.approx(float(leaks["refund_cost"].sum()), abs=0.005)
    checks = _sql(serving, "select passed from marts.data_completeness where run_id = "
                           "(select run_id from marts.data_completeness order by as_of desc, run_id limit 1)")
    assert (report.figures["checks"], report.figures["checks_passed"]) == (len(checks), int(checks["passed"].sum()))
    assert f"{int(checks['passed'].sum())} of {len(checks)} checks pass" in report.markdown


def test_weekly_report_numbers_equal_the_marts(published_tiny: Leakwatch) -> None:
    serving, as_of = published_tiny.serving, _as_of(published_tiny)
    report = weekly.build(serving, as_of)
    (first, last), (prev_first, prev_last) = weekly.weeks(as_of)
    assert (last - first).days == 6 and prev_last == first - timedelta(days=1)
    days = _sql(serving, "select local_date, refund_cost, gross_profit from marts.store_daily")
    for (start, end), key in (((first, last), "this_week"), ((prev_first, prev_last), "last_week")):
        week = days[(days["local_date"].dt.date >= start) & (days["local_date"].dt.date <= end)]
        expected = float(week["refund_cost"].sum()) / float(week["gross_profit"].sum())
        assert report.figures["refund_cost_pct_of_profit"][key] == pytest.approx(expected, abs=1e-9)
    shown = f"{report.figures['refund_cost_pct_of_profit']['this_week']:.1%}"
    assert shown in report.markdown
    assert "Refund cost as % of profit" in report.markdown and "≤ 5.0%" in report.markdown


def test_a_report_is_emailed_with_an_html_part(published_tiny: Leakwatch) -> None:
    from aiosmtpd.controller import Controller

    class Box:
        messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
            self.messages.append(envelope.original_content or envelope.content)
            return "250 OK"

    box, port = Box(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = daily.build(published_tiny.serving, _as_of(published_tiny))
        config = AlertConfig(smtp_host="127.0.0.1", smtp_port=port, email_from="leakwatch@ops.example",
                             email_to=("ops@ops.example",))
        assert email(report, config) == "sent"
        assert email(report, AlertConfig()) == "off"
    finally:
        controller.stop()
    message = message_from_bytes(box.messages[-1])
    assert message["Subject"] == report.title
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types


def test_the_runs_monthly_note_is_drafted_from_the_published_fix_candidates(published_tiny: Leakwatch) -> None:
    from pipelines.reports import monthly

    as_of = _as_of(published_tiny)
    period = as_of.date().replace(day=1)
    note = (published_tiny.var_dir / "reports" / f"monthly-{period.isoformat()}.md").read_text()
    report = monthly.build(published_tiny.serving, as_of)
    assert report.markdown == note, "the run's note is what the builder drafts from the published marts"
    candidates = _sql(published_tiny.serving, "select * from marts.fix_candidates")
    if candidates.empty:  # the tiny world's planted slices do not reach 2 × the portfolio rate
        assert "nothing to fix first" in note
    else:
        assert report.figures["candidates"], note


def _leak_marts(path: Path) -> None:
    """A serving DB with the five leak marts the note reads: two candidates last month, one in 90 days."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute("""create table marts.fix_candidates as select * from (values
            ('last_full_month', 2, 'sku', 'LUM-7', 900.0, 700.0, 3000.0, 0.30, 0.05, 750.0, 'wrong_item', 'warehouse',
             'pick-check before dispatch', 'USD', timestamptz '2026-11-02 06:00:00+00'),
            ('last_full_month', 1, 'supplier', 'sup-a', 2000.0, 1800.0, 10000.0, 0.20, 0.05, 1500.0,
             'supplier_defect', 'supplier', 'QC at the supplier', 'USD', timestamptz '2026-11-02 06:00:00+00'),
            ('trailing_90d', 1, 'market', 'UK', 5000.0, 100.0, 40000.0, 0.125, 0.05, 3000.0, 'damaged_in_transit',
             'carrier', 'packaging', 'USD', timestamptz '2026-11-02 06:00:00+00')
        ) as t(time_window, fix_rank, dimension, dimension_value, leak_cost, preventable_leak_cost, revenue,
               leak_rate, portfolio_leak_rate, excess_leak, dominant_cause, owner, suggested_action,
               reporting_currency, as_of)""")
        con.execute("""create table marts.leakage_concentration as select * from (values
            ('last_full_month', 'supplier', 'sup-a', 1, 0.40, 0.40),
            ('last_full_month', 'supplier', 'sup-b', 2, 0.35, 0.75),
            ('last_full_month', 'supplier', 'sup-c', 3, 0.25, 1.0), ('last_full_month', 'sku', 'LUM-7', 1, 0.18, 0.18)
        ) as t(time_window, dimension, dimension_value, pareto_rank, share, cumulative_share)""")
        con.execute("""create table marts.leak_events as select * from (values
            ('refund-1', date '2026-10-03', 'lumen-au', 'AU', 'supplier_defect', 'cash_refund', 500.0),
            ('refund-2', date '2026-10-20', 'lumen-au', 'AU', 'supplier_defect', 'replacement', 300.0),
            ('refund-3', date '2026-09-20', 'lumen-au', 'AU', 'supplier_defect', 'cash_refund', 999.0),
            ('refund-4', date '2026-10-21', 'lumen-us', 'US', 'wrong_item', 'cash_refund', 100.0)
        ) as t(leak_event_id, local_date, store_id, market, cause, resolution, refund_cost)""")
        con.execute("""create table marts.leak_windows as select * from (values
            ('last_full_month', date '2026-10-01', date '2026-10-31'),
            ('trailing_90d', date '2026-08-05', date '2026-11-02')
        ) as t(time_window, window_start, window_end)""")
        con.execute("""create table marts.leak_event_lines as select * from (values
            ('refund-1', 'LUM-1', 'sup-a', 500.0), ('refund-2', 'LUM-2', 'sup-a', 200.0),
            ('refund-2', 'LUM-7', 'sup-b', 100.0), ('refund-3', 'LUM-1', 'sup-a', 999.0),
            ('refund-4', 'LUM-7', 'sup-b', 100.0)
        ) as t(leak_event_id, sku, supplier, leak_cost)""")
    finally:
        con.close()


def test_monthly_note_gives_the_top_two_candidates_with_evidence_and_saving(tmp_path: Path) -> None:
    from pipelines.reports import monthly

    serving = tmp_path / "serving.duckdb"
    _leak_marts(serving)
    report = monthly.build(serving, datetime.fromisoformat("2026-11-02T06:00:00+00:00"))
    note = report.markdown
    assert report.figures["window"] == "last_full_month"
    first, second = report.figures["candidates"]
    assert (first["dimension"], first["dimension_value"], second["dimension_value"]) == ("supplier", "sup-a", "LUM-7")
    assert (first["estimated_monthly_saving"], second["estimated_monthly_saving"]) == (1500.0, 750.0)
    assert "**USD 2,250 a month**" in note and "(01 Oct – 31 Oct 2026)" in note
    assert "leak rate 20.0% against the portfolio's 5.0% (4.0×)" in note
    assert "Rank 1 of 3 supplier slices by leak cost, 40.0% of all leak in the window." in note
    assert "QC at the supplier" in note and "`supplier_defect` (owner: supplier)" in note
    # examples: the slice's largest events inside October only (refund-3 is September), cost in the slice
    assert first["examples"] == ["refund-1", "refund-2"]
    assert second["examples"] == ["refund-2", "refund-4"]
    assert "| refund-1 | 2026-10-03 | lumen-au | supplier_defect | cash_refund | 500.00 |" in note


def test_monthly_note_falls_back_to_90_days_and_says_what_is_missing(tmp_path: Path) -> None:
    from pipelines.reports import monthly

    serving = tmp_path / "serving.duckdb"
    _leak_marts(serving)
    con = duckdb.connect(str(serving))
    con.execute("delete from marts.fix_candidates where time_window = 'last_full_month'")
    con.close()
    report = monthly.build(serving, datetime.fromisoformat("2026-11-02T06:00:00+00:00"))
    assert report.figures["window"] == "trailing_90d"
    assert report.figures["candidates"][0]["estimated_monthly_saving"] == 1000.0  # 3,000 over three months
    assert report.figures["candidates"][0]["examples"] == []  # no UK event in the 90 days
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert "marts.fix_candidates" in monthly.build(empty, datetime.now()).markdown
