"""Fulfilment end to end on `tiny`: `leakwatch run` then `verify` compares every §7-§8 KPI with ground truth."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.verify import verify
from sandbox.build import WAREHOUSE_METRICS
from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

FULFILMENT_METRICS = {
    "orders_within_48h_rate", "open_over_48h_count", "supplier_sla_hit_rate", "carrier_on_time_rate",
    "carrier_transit_days_p50", "eligible_claim_parcels", "claim_filing_rate", "claim_recovery_rate",
    "compensation_recovered", "unfiled_past_window_count",
}


@pytest.fixture(scope="module")
def ran(published_tiny: Leakwatch) -> tuple[Leakwatch, object]:
    return published_tiny, published_tiny("verify")


def _metrics(path, table: str) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute(f"select metric, count(*) from {table} group by metric").fetchall())
    finally:
        con.close()


def test_every_fulfilment_metric_is_compared_with_ground_truth(ran) -> None:
    leakwatch, _ = ran
    assert WAREHOUSE_METRICS["fulfilment"] == FULFILMENT_METRICS
    truth = _metrics(leakwatch.var_dir / "sandbox" / "ground_truth.duckdb", "main.kpis")
    served = _metrics(leakwatch.serving, "marts.kpis")
    for metric in FULFILMENT_METRICS:
        assert truth.get(metric, 0) > 0, f"{metric} missing from the verified ground truth"
        assert served.get(metric) == truth[metric], metric


def test_verify_finds_no_fulfilment_mismatch(ran) -> None:
    leakwatch, verified = ran
    compared, mismatches = verify(leakwatch.serving, leakwatch.var_dir / "sandbox" / "ground_truth.duckdb")
    assert compared > 0
    wrong = mismatches[mismatches["metric"].isin(FULFILMENT_METRICS)]
    assert wrong.empty, wrong.to_string()
    assert mismatches.empty, mismatches.to_string()
    assert verified.returncode == 0, (verified.stdout + verified.stderr)[-4000:]
