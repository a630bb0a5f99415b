"""Where check results land: `marts.data_completeness` (one row per check per run, history kept) and the
`data_completeness` rows of `marts.kpis` (METRICS.md §12-§13), written by the gate after it ran the suites.

They are written here rather than by dbt because they exist only once the checks have run, and the checks run
after the marts are built (a failing block check must be able to stop publishing the marts).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from expectations.suites import SAMPLE_ROWS, CheckOutcome

HISTORY_DDL = """
create table if not exists marts.data_completeness (
    run_id varchar not null,
    as_of timestamp with time zone not null,
    check_name varchar not null,
    domain varchar not null,
    severity varchar not null,
    checked_table varchar not null,
    passed boolean not null,
    observed varchar,
    expected varchar,
    failing_count integer not null,
    failing_sample varchar,
    description varchar
)
"""


def outcome_rows(outcomes: list[CheckOutcome], run_id: str, as_of: datetime) -> pd.DataFrame:
    return pd.DataFrame([{
        "run_id": run_id,
        "as_of": as_of,
        "check_name": o.check.name,
        "domain": o.check.domain,
        "severity": o.check.severity,
        "checked_table": o.check.table,
        "passed": o.passed,
        "observed": o.observed,
        "expected": o.expected,
        "failing_count": len(o.failing_keys),
        "failing_sample": ", ".join(o.failing_keys[:SAMPLE_ROWS]) or None,
        "description": o.check.description,
    } for o in outcomes])


def completeness_kpis(outcomes: list[CheckOutcome], as_of: datetime) -> pd.DataFrame:
    """`data_completeness` = passing checks / checks, for the portfolio: overall and per domain (grain asof)."""
    frame = pd.DataFrame({"domain": [o.check.domain for o in outcomes], "passed": [o.passed for o in outcomes]})
    day = pd.Timestamp(as_of).tz_convert("UTC").date() if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of).date()
    rows = [("data_completeness", None, day, "asof", None, None, float(frame["passed"].mean()))]
    for domain, group in frame.groupby("domain", sort=True):
        rows.append(("data_completeness", None, day, "asof", "domain", domain, float(group["passed"].mean())))
    return pd.DataFrame(rows, columns=["metric", "store_id", "period_start", "grain", "dimension",
                                       "dimension_value", "value"])


def record(warehouse: Path, outcomes: list[CheckOutcome], run_id: str, as_of: datetime) -> int:
    """Append this run's results to the history and replace the data_completeness KPI rows; returns rows added."""
    if not outcomes:
        return 0
    history = outcome_rows(outcomes, run_id, as_of)
    kpis = completeness_kpis(outcomes, as_of)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists marts")
        con.execute(HISTORY_DDL)
        con.register("history_rows", history)
        con.execute("delete from marts.data_completeness where run_id = ?", [run_id])
        con.execute("insert into marts.data_completeness by name select * from history_rows")
        if con.execute("select count(*) from duckdb_tables() where schema_name = 'marts' "
                       "and table_name = 'kpis'").fetchone()[0]:
            con.register("completeness_rows", kpis)
            con.execute("delete from marts.kpis where metric = 'data_completeness'")
            con.execute("insert into marts.kpis select metric, store_id, period_start, grain, dimension, "
                        "dimension_value, value, cast(? as timestamp with time zone) from completeness_rows",
                        [as_of])
        return len(history)
    finally:
        con.close()
