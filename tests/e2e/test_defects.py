"""Each planted data defect is caught by the completeness check meant for it (METRICS.md §12)."""

from __future__ import annotations

import pytest

from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

CASES = {
    # defect: (check, severity, published?)
    "stale_store": ("orders_fresh", "block", False),
    "missing_fx": ("fx_rate_for_every_currency_day", "warn", True),
}


@pytest.mark.parametrize("defect", sorted(CASES))
def test_defect_is_caught_by_its_check(defect: str, tmp_path) -> None:
    check, severity, published = CASES[defect]
    leakwatch = Leakwatch(tmp_path / "var")
    generated = leakwatch("sandbox", "generate", "--preset", "tiny", "--seed", "3", "--defect", defect,
                          "--free-ports")
    assert generated.returncode == 0, generated.stderr
    planted = generated.stdout.split(f"'{defect}': '")[1].split("'")[0]
    result = leakwatch("run")
    output = result.stdout + result.stderr
    assert f"{check} [{severity}] FAILED" in output, output[-4000:]
    assert planted in output, f"the failure names what is wrong ({planted})"
    assert result.returncode == (0 if published else 1), output[-4000:]
    assert leakwatch.serving.exists() == published
    if published:
        verified = leakwatch("verify")
        assert verified.returncode == 0, verified.stdout[-3000:]
