"""The analyst queries of README "Query the marts" run on a real published tiny run, and their answers equal the
sandbox's ground truth (computed from the simulated world, not from the marts)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, Leakwatch

QUESTIONS = ("refund cost % of profit by cause", "orders open > 48 business hours", "disputes due in 72 h",
             "top 5 SKUs by preventable leak")


def _queries() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("### Query the marts", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def _rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _truth(published: Leakwatch, metric: str) -> float:
    rows = _rows(published.var_dir / "sandbox" / "ground_truth.duckdb",
                 "select value from kpis where metric = ? and store_id is null and dimension is null", [metric])
    assert len(rows) == 1, (metric, rows)
    return rows[0][0]


def test_readme_has_the_four_analyst_queries() -> None:
    assert len(_queries()) == len(QUESTIONS)


@pytest.mark.parametrize("index", range(len(QUESTIONS)), ids=QUESTIONS)
def test_readme_query_answers_like_the_ground_truth(published_tiny: Leakwatch, index: int) -> None:
    serving = Path(published_tiny.serving)
    rows = _rows(serving, _queries()[index])
    truth = published_tiny.var_dir / "sandbox" / "ground_truth.duckdb"
    if index == 0:  # lumen-au, last full month, by cause
        (as_of,) = _rows(serving, "select max(as_of) from marts.kpis")[0]
        expected = _rows(truth, """
            select dimension_value, value from kpis
            where metric = 'refund_cost_pct_of_profit' and dimension = 'cause' and store_id = 'lumen-au'
                and period_start = cast(date_trunc('month', ?::timestamptz) - interval 1 month as date)
        """, [as_of])
        assert rows and [c for c, _ in sorted(rows)] == [c for c, _ in sorted(expected)]
        assert [v for _, v in sorted(rows)] == pytest.approx([v for _, v in sorted(expected)], abs=1e-4)
    elif index == 1:
        assert len(rows) == _truth(published_tiny, "open_over_48h_count")
    elif index == 2:
        assert len(rows) == _truth(published_tiny, "disputes_at_risk")
    else:
        expected = _rows(truth, """
            select dimension_value, preventable_leak_cost from leakage_by_dimension
            where time_window = 'last_full_month' and dimension = 'sku'
            order by preventable_leak_cost desc, dimension_value limit 5
        """)
        assert len(rows) == 5
        assert [sku for sku, *_ in rows] == [sku for sku, _ in expected]
        assert [float(cost) for _, cost, *_ in rows] == pytest.approx([cost for _, cost in expected], abs=0.005)
