"""Payments end to end: tiny sandbox → `leakwatch run` → `leakwatch verify` with the payments KPIs compared."""

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


def test_verify_compares_and_matches_every_payments_metric(published: Leakwatch) -> None:
    result = published("verify")
    _ok(result)
    truth = duckdb.connect(str(published.var_dir / "sandbox" / "ground_truth.duckdb"), read_only=True)
    try:
        compared = {m for (m,) in truth.execute("select distinct metric from kpis").fetchall()}
    finally:
        truth.close()
    assert WAREHOUSE_METRICS["payments"] <= compared, "payments metrics are verified, not parked in area_kpis"


def test_payments_marts_are_published(published: Leakwatch) -> None:
    con = duckdb.connect(str(published.serving), read_only=True)
    try:
        counts = {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0]
                  for t in ("chargebacks", "chargeback_rates", "payment_performance", "integration_issues")}
        issue_types = {t for (t,) in con.execute("select distinct issue_type from marts.integration_issues").fetchall()}
    finally:
        con.close()
    assert all(n > 0 for n in counts.values()), counts
    assert {"missing_stripe_charge", "orphan_stripe_charge", "amount_mismatch"} <= issue_types
