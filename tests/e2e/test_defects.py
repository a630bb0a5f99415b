"""Each planted data defect is caught by the completeness check meant for it (METRICS.md §12).

The two blocking defects share one sandbox and one run (a run costs over a minute): each test reads the line of
its own check; `missing_fx` (a warning) shares the run under API faults in tests/reliability/test_faults.py, which
must publish and still equal the ground truth.
`duplicate_records` and `schema_drift` are in tests/expectations/test_defect_checks.py.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

BLOCKING = {
    # defect: (check, how the failure names what is wrong)
    "stale_store": ("orders_fresh", "{planted}"),
    "unmapped_sku": ("sku_mapped_to_supplier_and_cogs", "failing sku: {planted}"),
}


def _planted(stdout: str, defect: str) -> str:
    return stdout.split(f"'{defect}': '")[1].split("'")[0]


@pytest.fixture(scope="module")
def blocked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Leakwatch, dict[str, str], str, int, bytes]:
    """One tiny sandbox with both blocking defects and a serving.duckdb from 'before', run once."""
    leakwatch = Leakwatch(tmp_path_factory.mktemp("var"))
    args = [arg for defect in BLOCKING for arg in ("--defect", defect)]
    generated = leakwatch("sandbox", "generate", "--preset", "tiny", "--seed", "3", *args, "--free-ports")
    assert generated.returncode == 0, generated.stderr
    planted = {defect: _planted(generated.stdout, defect) for defect in BLOCKING}
    with duckdb.connect(str(leakwatch.serving)) as con:  # what analysts had before this run
        con.execute("create table published_before as select 42 as answer")
    before = leakwatch.serving.read_bytes()
    result = leakwatch("run")
    return leakwatch, planted, result.stdout + result.stderr, result.returncode, before


@pytest.mark.parametrize("defect", sorted(BLOCKING))
def test_blocking_defect_is_caught_by_its_check_and_nothing_is_published(defect: str, blocked) -> None:
    leakwatch, planted, output, returncode, before = blocked
    check, names = BLOCKING[defect]
    failed = [line for line in output.splitlines() if f"{check} [block] FAILED" in line]
    assert failed, output[-4000:]
    assert any(names.format(planted=planted[defect]) in line for line in failed), (planted[defect], failed)
    assert returncode == 1, output[-4000:]
    assert "NOT published" in output, output[-4000:]
    assert leakwatch.serving.read_bytes() == before, "serving.duckdb is left as it was"
