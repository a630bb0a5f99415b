"""The walking skeleton end to end: tiny sandbox → `leakwatch run` → `leakwatch verify`, and the gate."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

READER = """
import sys, time, duckdb
path, stop_file = sys.argv[1], sys.argv[2]
ok = failed = 0
import os
while not os.path.exists(stop_file):
    try:
        con = duckdb.connect(path, read_only=True)
        con.execute("select count(*) from marts.kpis").fetchone()
        con.close()
        ok += 1
    except Exception as exc:
        failed += 1
        print("read failed:", exc, flush=True)
    time.sleep(0.02)
print(f"reads ok={ok} failed={failed}", flush=True)
"""


def _ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    )


@pytest.fixture(scope="module")
def published(published_tiny: Leakwatch) -> Leakwatch:
    return published_tiny


def test_run_publishes_and_verify_matches_ground_truth(published: Leakwatch) -> None:
    assert published.serving.exists()
    result = published("verify")
    _ok(result)
    assert "match" in result.stdout


def test_verify_fails_on_a_wrong_number(published: Leakwatch, tmp_path) -> None:
    import shutil

    import duckdb

    tampered = tmp_path / "serving.duckdb"
    shutil.copy(published.serving, tampered)
    con = duckdb.connect(str(tampered))
    con.execute("update marts.kpis set value = value + 0.02 where metric = 'refund_cost' and store_id is null "
                "and dimension is null and period_start = "
                "(select max(period_start) from marts.kpis where metric = 'refund_cost')")
    con.close()
    result = published("verify", "--serving", str(tampered))
    assert result.returncode == 1
    assert "refund_cost" in result.stdout


def test_readers_are_never_locked_out_while_publishes_replace_serving(published: Leakwatch, tmp_path) -> None:
    """Analysts' short read-only connections keep working while `leakwatch publish` (the run's last step, the
    only one that touches serving.duckdb) replaces the file three times under them."""
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published.serving), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    outputs = []
    for _ in range(3):
        result = published("publish")
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, outputs[-1][-4000:]
    stop.touch()
    reader_output, _ = reader.communicate(timeout=60)
    assert all("published" in output for output in outputs), outputs
    assert "failed=0" in reader_output, reader_output[-2000:]
    ok = int(reader_output.split("ok=")[1].split()[0])
    assert ok > 20, reader_output
