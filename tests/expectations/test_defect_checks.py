"""The `duplicate_records` and `schema_drift` defects, planted together in one sandbox, are each caught by the
check meant for them, and every check's result agrees with its ground-truth mirror (METRICS.md §12)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

DEFECTS = ("duplicate_records", "schema_drift")


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Leakwatch, dict[str, str], str, int]:
    """One tiny sandbox with both defects, run once: (leakwatch, planted per defect, output, return code)."""
    leakwatch = Leakwatch(tmp_path_factory.mktemp("var"))
    args = [arg for defect in DEFECTS for arg in ("--defect", defect)]
    generated = leakwatch("sandbox", "generate", "--preset", "tiny", "--seed", "3", *args, "--free-ports")
    assert generated.returncode == 0, generated.stderr
    planted = {d: generated.stdout.split(f"'{d}': '")[1].split("'")[0] for d in DEFECTS}
    result = leakwatch("run")
    return leakwatch, planted, result.stdout + result.stderr, result.returncode


def _results(leakwatch: Leakwatch) -> dict[str, tuple[str, bool, str | None]]:
    con = duckdb.connect(str(leakwatch.var_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("select check_name, severity, passed, failing_sample "
                           "from marts.data_completeness").fetchall()
    finally:
        con.close()
    return {name: (severity, passed, sample) for name, severity, passed, sample in rows}


def test_duplicate_records_are_caught_by_the_raw_duplicates_check(drifted) -> None:
    leakwatch, planted, output, _ = drifted
    assert "shopify" in planted["duplicate_records"]
    assert "raw_records_unique [warn] FAILED" in output, output[-4000:]
    severity, passed, sample = _results(leakwatch)["raw_records_unique"]
    assert (severity, passed) == ("warn", False)
    assert "raw_shopify.fulfillments" in sample, sample


def test_schema_drift_is_caught_by_the_schema_check_and_blocks_publishing(drifted) -> None:
    leakwatch, planted, output, returncode = drifted
    api = planted["schema_drift"]
    assert "raw_schema_unchanged [block] FAILED" in output, output[-4000:]
    assert f"raw_{api}.charges.amount values arrived as json" in output, output[-4000:]
    results = _results(leakwatch)
    assert {name for name, (severity, passed, _) in results.items() if severity == "block" and not passed} == {
        "raw_schema_unchanged"}, "the drift, and nothing else, blocks"
    assert returncode == 1 and not leakwatch.serving.exists()


def test_every_check_agrees_with_its_ground_truth_mirror(drifted) -> None:
    from sandbox.ground_truth_quality import check_outcomes
    from sandbox.world import load_world

    leakwatch = drifted[0]
    sandbox = Path(leakwatch.var_dir) / "sandbox"
    truth = check_outcomes(load_world(sandbox / "world"), sandbox / "sheets")
    expected = dict(zip(truth["check_name"], truth["passed"], strict=True))
    actual = {name: passed for name, (_, passed, _) in _results(leakwatch).items()}
    assert actual == expected
    assert not expected["raw_records_unique"] and not expected["raw_schema_unchanged"]
