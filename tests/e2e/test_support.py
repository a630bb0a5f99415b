"""Support end to end: tiny sandbox → `leakwatch run` → `leakwatch verify` compares the support KPIs."""

from __future__ import annotations

import subprocess

import duckdb
import pytest

from sandbox.build import WAREHOUSE_METRICS
from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow


def _ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    )


@pytest.fixture(scope="module")
def published(published_tiny: Leakwatch) -> Leakwatch:
    return published_tiny


def test_verify_compares_every_support_metric(published: Leakwatch) -> None:
    metrics = sorted(WAREHOUSE_METRICS["support"])
    assert len(metrics) == 6
    placeholders = ", ".join("?" * len(metrics))
    query = f"select metric, count(*), count(value) from {{}} where metric in ({placeholders}) group by metric"
    with duckdb.connect(str(published.var_dir / "sandbox" / "ground_truth.duckdb"), read_only=True) as con:
        truth = {m: (n, v) for m, n, v in con.execute(query.format("kpis"), metrics).fetchall()}
    with duckdb.connect(str(published.serving), read_only=True) as con:
        served = {m: (n, v) for m, n, v in con.execute(query.format("marts.kpis"), metrics).fetchall()}
    assert sorted(truth) == metrics
    assert served == truth
    assert all(values > 0 for _, values in truth.values())
    result = published("verify")
    _ok(result)
    assert "match" in result.stdout


def test_support_marts_are_published(published: Leakwatch) -> None:
    with duckdb.connect(str(published.serving), read_only=True) as con:
        tickets = con.execute(
            "select count(*), count(distinct conversation_slug) from marts.support_tickets").fetchone()
        agents = con.execute("select count(*) from marts.support_quality where replies > 0").fetchone()
    assert tickets[0] > 0 and tickets[0] == tickets[1]
    assert agents[0] > 0
