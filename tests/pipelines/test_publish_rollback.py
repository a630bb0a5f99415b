"""Publish survives SIGKILL at any moment, leftovers are cleaned up, and rollback swaps back to the previous file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import clean_stale_temp_files, prev_path, publish, rollback

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BULK_ROWS = 2_000_000  # ~50 MB: a publish takes about a second, long enough to be killed half-way
KILLS = 6
SEED = 20261125


def make_warehouse(path: Path, value: float, bulk_rows: int = 10) -> None:
    """marts.kpis holds one row whose value names the generation; marts.bulk makes the copy slow."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.kpis as select 'refund_cost' as metric, ?::double as value", [value])
    con.execute("create table marts.bulk as select range as id, md5(range::varchar) as s, random() as r "
                "from range(?)", [bulk_rows])
    con.close()


def set_generation(warehouse: Path, value: float) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("update marts.kpis set value = ?", [value])
    con.close()


def served_value(serving: Path, bulk_rows: int | None = None) -> float:
    """Open read-only, read marts.kpis and (optionally) scan marts.bulk fully: fails on a broken file."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        if bulk_rows is not None:
            assert con.execute("select count(*), count(distinct s) from marts.bulk").fetchone() == (
                bulk_rows, bulk_rows)
        return con.execute("select value from marts.kpis").fetchone()[0]
    finally:
        con.close()


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".serving") and ".tmp" in p.name)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def cli_env(var_dir: Path) -> dict[str, str]:
    env = {**os.environ, "LEAKWATCH_VAR": str(var_dir)}
    env.pop("DLT_PROJECT_DIR", None)
    return env


def run_cli(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args), env=cli_env(var_dir), cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.timeout(600)
def test_sigkill_during_publish_leaves_old_or_new_never_broken(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    make_warehouse(warehouse, 0.0, BULK_ROWS)
    publish(warehouse, serving)
    set_generation(warehouse, 1.0)
    started = time.monotonic()
    assert run_cli(tmp_path, "publish").returncode == 0
    full_publish = time.monotonic() - started
    assert served_value(serving) == 1.0

    rng = random.Random(SEED)
    outcomes: list[str] = []
    for generation in range(2, 2 + KILLS):
        old = served_value(serving)
        set_generation(warehouse, float(generation))
        proc = subprocess.Popen(cli("publish"), env=cli_env(tmp_path), cwd=PROJECT_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.2) * full_publish)  # from mid-copy to around/after the swap
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        value = served_value(serving, BULK_ROWS)
        assert value in (old, float(generation)), f"kill #{generation}: serving holds {value}, not {old} or new"
        outcomes.append(("old" if value == old else "new") + ("+temp" if temp_files(tmp_path) else ""))

    assert any(o.endswith("+temp") for o in outcomes), f"no kill landed mid-publish: {outcomes}"
    print("kill outcomes:", outcomes)
    set_generation(warehouse, 99.0)
    done = run_cli(tmp_path, "publish")
    assert done.returncode == 0, done.stderr
    assert served_value(serving, BULK_ROWS) == 99.0
    assert temp_files(tmp_path) == [], "the next publish cleans up what killed publishes left behind"


def test_cleanup_spares_temp_files_of_a_live_publish(tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [tmp_path / f".serving.{dead.pid}.tmp.duckdb", tmp_path / f".serving.{dead.pid}.tmp.duckdb.wal",
                 tmp_path / f".serving.prev.{dead.pid}.tmp", tmp_path / f".serving.rollback.{dead.pid}.tmp"]
        live = tmp_path / f".serving.{alive.pid}.tmp.duckdb"
        unrelated = tmp_path / ".other.1.tmp.duckdb"
        for path in [*stale, live, unrelated]:
            path.write_bytes(b"partial")
        assert sorted(clean_stale_temp_files(serving)) == sorted(stale)
        assert live.exists() and unrelated.exists()
    finally:
        alive.kill()
        alive.wait()


def test_rollback_swaps_serving_and_prev(tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    for value in (1.0, 2.0):
        make_warehouse(tmp_path / "w.duckdb", value)
        publish(tmp_path / "w.duckdb", serving)
    rollback(serving)
    assert served_value(serving) == 1.0 and served_value(prev_path(serving)) == 2.0
    rollback(serving)
    assert served_value(serving) == 2.0 and served_value(prev_path(serving)) == 1.0
    assert temp_files(tmp_path) == []


def test_rollback_without_previous_file_is_a_clear_error(tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    make_warehouse(tmp_path / "w.duckdb", 1.0)
    publish(tmp_path / "w.duckdb", serving)
    before = serving.read_bytes()
    with pytest.raises(FileNotFoundError, match="nothing to roll back to"):
        rollback(serving)
    assert serving.read_bytes() == before


def test_cli_publish_and_rollback(tmp_path: Path) -> None:
    missing = run_cli(tmp_path, "publish")
    assert missing.returncode == 2 and "no warehouse" in missing.stderr
    no_prev = run_cli(tmp_path, "publish", "--rollback")
    assert no_prev.returncode == 2 and "nothing to roll back to" in no_prev.stderr

    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, 1.0)
    assert run_cli(tmp_path, "publish").returncode == 0
    set_generation(warehouse, 2.0)
    second = run_cli(tmp_path, "publish")
    assert second.returncode == 0 and "published" in second.stdout
    assert served_value(tmp_path / "serving.duckdb") == 2.0
    back = run_cli(tmp_path, "publish", "--rollback")
    assert back.returncode == 0 and "rolled back" in back.stdout
    assert served_value(tmp_path / "serving.duckdb") == 1.0
