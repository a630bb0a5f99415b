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


def test_monthly_note_names_the_top_two_fix_candidates_with_the_marts_numbers(published_tiny: Leakwatch) -> None:
    from pipelines.reports import monthly

    serving = published_tiny.serving
    as_of = _as_of(published_tiny)
    period = as_of.date().replace(day=1)
    note = (published_tiny.var_dir / "reports" / f"monthly-{period.isoformat()}.md").read_text()
    report = monthly.build(serving, as_of)
    assert report.markdown == note, "the run's note is what the builder drafts from the published marts"
    marts = _sql(serving, "select * from marts.fix_candidates order by time_window, fix_rank")
    window = "last_full_month" if (marts["time_window"] == "last_full_month").any() else "trailing_90d"
    top = marts[marts["time_window"] == window].head(2)
    assert len(top) >= 1, "the tiny world has fix candidates (the planted supplier at least)"
    assert report.figures["window"] == window
    months = 1 if window == "last_full_month" else 3
    for row, figure in zip(top.itertuples(), report.figures["candidates"], strict=True):
        assert (figure["dimension"], figure["dimension_value"]) == (row.dimension, row.dimension_value)
        assert figure["estimated_monthly_saving"] == pytest.approx(float(row.excess_leak) / months)
        assert f"{row.dimension} `{row.dimension_value}`" in note and str(row.suggested_action) in note
        assert f"{float(row.leak_rate):.1%}" in note
        if figure["examples"]:
            events = _sql(serving, "select leak_event_id from marts.leak_events")["leak_event_id"].astype(str)
            assert set(figure["examples"]) <= set(events)
    total = sum(f["estimated_monthly_saving"] for f in report.figures["candidates"])
    assert f"{total:,.0f} a month" in note
