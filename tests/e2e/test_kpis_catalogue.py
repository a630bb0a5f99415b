"""Every metric of METRICS.md §13 is in the published marts.kpis, at its grain, with its stated dimensions.

Reads the session's tiny run (no run of its own); the metric list is parsed from METRICS.md (tests/metrics_md.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sandbox.build import WAREHOUSE_METRICS
from tests.conftest import Leakwatch
from tests.metrics_md import section_13

pytestmark = pytest.mark.slow


def _kpis(serving: Path) -> list[tuple[str, str, str | None]]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute("select distinct metric, grain, dimension from marts.kpis").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def kpi_shapes(published_tiny: Leakwatch) -> list[tuple[str, str, str | None]]:
    return _kpis(published_tiny.serving)


def test_no_metrics_md_metric_is_missing_from_marts_kpis(kpi_shapes: list[tuple[str, str, str | None]]) -> None:
    present = {metric for metric, _, _ in kpi_shapes}
    missing = [name for name in section_13() if name not in present]
    assert not missing, f"METRICS.md §13 metrics missing from marts.kpis: {missing}"


def test_each_metric_has_its_grain_and_stated_dimensions(kpi_shapes: list[tuple[str, str, str | None]]) -> None:
    wrong = []
    for name, canonical in section_13().items():
        rows = [(grain, dimension) for metric, grain, dimension in kpi_shapes if metric == name]
        grains = {grain for grain, _ in rows}
        if rows and grains != {canonical.grain}:
            wrong.append(f"{name}: grain {sorted(grains)}, METRICS.md says {canonical.grain}")
        absent = canonical.dimensions - {dimension for _, dimension in rows}
        if rows and absent:
            wrong.append(f"{name}: no rows with dimension {sorted(map(str, absent))}")
    assert not wrong, "\n".join(wrong)


def test_every_metrics_md_metric_is_verified_against_ground_truth() -> None:
    """Each §13 metric is promoted in sandbox.build.WAREHOUSE_METRICS (so `leakwatch verify` compares it), except
    the slice's own metrics that sandbox/ground_truth.py writes straight into `kpis`."""
    promoted = set().union(*WAREHOUSE_METRICS.values())
    slice_metrics = {"orders_paid", "net_revenue"}
    unverified = [name for name in section_13() if name not in promoted | slice_metrics]
    assert not unverified, f"METRICS.md §13 metrics not compared by `leakwatch verify`: {unverified}"
