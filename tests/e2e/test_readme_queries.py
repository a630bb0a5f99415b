"""The analyst queries of README "Query the marts" run on a real published tiny run and answer something."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, Leakwatch


def _queries() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("### Query the marts", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def test_readme_has_the_analyst_queries() -> None:
    assert len(_queries()) >= 3


@pytest.mark.parametrize("index", range(3))
def test_readme_query_runs_on_the_published_marts(published_tiny: Leakwatch, index: int) -> None:
    sql = _queries()[index]
    con = duckdb.connect(str(Path(published_tiny.serving)), read_only=True)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    if index == 0:  # refund cost % of profit by cause, one store, last month: the tiny world has refunds
        assert rows and all(0 <= value < 1 for _, value in rows), rows
