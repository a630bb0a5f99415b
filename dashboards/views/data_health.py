"""Data health: completeness by domain, every check of the latest gate run, freshness, last publish (§12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards import data, ui
from dashboards.filters import Scope
from dashboards.ui import Kpi

TITLE = "Data health"
FRESHNESS_LIMIT_H = 26  # METRICS.md §12: newest data within 26 h of the run


def hours_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (now - moment).total_seconds() / 3600


def render(scope: Scope) -> None:
    del scope  # the checks describe the whole run
    now = datetime.now(UTC).replace(tzinfo=None)
    published = data.published_at()
    published_dt = datetime.fromtimestamp(published, UTC).replace(tzinfo=None) if published else None
    run = data.run_query("run_as_of")
    as_of = None if run.empty or pd.isna(run["as_of"].iloc[0]) else pd.Timestamp(run["as_of"].iloc[0]).to_pydatetime()
    prev = data.serving_db_path().with_name(f"{data.serving_db_path().stem}.prev.duckdb")
    cols = st.columns(3)
    cols[0].metric("Last publish (UTC)", f"{published_dt:%Y-%m-%d %H:%M}" if published_dt else "—", border=True,
                   help=f"When `{data.serving_db_path().name}` was last replaced.")
    cols[1].metric("Data as of (UTC)", f"{as_of:%Y-%m-%d %H:%M}" if as_of else "—", border=True,
                   help="The as-of time of the run that built the published marts.")
    age = hours_since(published_dt, now)
    fresh = age is not None and age <= FRESHNESS_LIMIT_H
    cols[2].metric("Publish age", ui.fmt_value(age, "hours", ""), border=True,
                   delta=f"{'within' if fresh else 'over'} {FRESHNESS_LIMIT_H} h",
                   delta_color="green" if fresh else "red", delta_arrow="off")
    kept = "yes" if prev.exists() else "no"
    st.caption(f"Previous publish kept for rollback: {kept} (`leakwatch publish --rollback`).")

    currency = ui.reporting_currency()
    st.subheader("Data completeness checks")
    values = ui.area_kpis(kpis_scope(), [Kpi("data_completeness", "Data completeness")], currency, "Data completeness")
    domains = values[values["dimension"] == "domain"] if not values.empty else values
    if not domains.empty:
        latest = domains[domains["period_start"] == domains["period_start"].max()]
        st.altair_chart(ui.bar(latest, "dimension_value", "value", "Checks passing", fmt=".0%"), width="stretch")
        ui.table(latest[["dimension_value", "value"]].rename(columns={"dimension_value": "domain",
                                                                      "value": "passing_rate"}),
                 "data_completeness_by_domain", currency)
    checks = data.run_query("mart_data_completeness") if "data_completeness" in data.mart_columns() else None
    if checks is None or checks.empty:
        st.info("No gate run is recorded in `marts.data_completeness` yet.")
    else:
        failing = checks[~checks["passed"].astype(bool)]
        st.caption(f"Latest gate run: {len(checks)} checks, {len(failing)} failing "
                   f"({int((failing['severity'] == 'block').sum())} blocking).")
        ui.table(checks, "data_completeness_checks", currency)
    st.subheader("Published marts")
    ui.table(data.run_query("published_marts"), "published_marts", currency)


def kpis_scope() -> Scope:
    """Data completeness is a portfolio figure of the run."""
    return Scope(store_ids=(), all_stores=True)


if __name__ == "__main__":
    ui.run_page(TITLE, render)
