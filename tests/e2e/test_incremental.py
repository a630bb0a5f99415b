"""Incremental staging equals a full rebuild after the clock moves (new orders, late edits of old ones), and
`make docs` (dbt docs generate) runs cleanly on a built warehouse.

Cost: one extra `leakwatch run`, on a copy of the session's tiny run (advanced three days), plus one dbt
full refresh of the incremental models and one `dbt docs generate`, both on copies of its warehouse.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, Leakwatch, free_port

# the first test may build the session's tiny run, then one more run and two dbt invocations on a busy machine
pytestmark = pytest.mark.timeout(1800)

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))


def _dbt(warehouse: Path, target: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt on `warehouse` with its own target and log folders (the shared dbt_project/target stays untouched)."""
    env = {**os.environ, "LEAKWATCH_WAREHOUSE": str(warehouse)}
    return subprocess.run([DBT, *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
                           "--target-path", str(target), "--log-path", str(target / "logs")],
                          env=env, cwd=DBT_PROJECT, capture_output=True, text=True, timeout=900)


def _ok(result: subprocess.CompletedProcess, what: str) -> None:
    assert result.returncode == 0, (
        f"{what} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def _fresh_ports(sandbox: Path) -> None:
    """Point the copied sandbox at free ports: the session's run may still be listening on its own."""
    config = sandbox / ".dlt" / "config.toml"
    text = config.read_text()
    for port in sorted(set(re.findall(r"127\.0\.0\.1:(\d+)", text))):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    config.write_text(text)


def _newest_load(warehouse: Path, table: str) -> float:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return float(con.sql(f"select max(cast(_dlt_load_id as double)) from {table}").fetchall()[0][0])


@pytest.fixture(scope="module")
def advanced(published_tiny: Leakwatch, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny run copied, its clock advanced 3 days and run again with incremental staging (no look-back, so
    only the new loads are read), then the incremental models rebuilt from scratch in a copy of its warehouse."""
    var = tmp_path_factory.mktemp("incremental") / "var"
    shutil.copytree(published_tiny.var_dir, var, ignore=shutil.ignore_patterns("*.pid", "*.log"))
    _fresh_ports(var / "sandbox")
    leakwatch = Leakwatch(var)
    leakwatch.env["LEAKWATCH_INCREMENTAL_LOOKBACK_SECONDS"] = "0"
    clock_before = json.loads((var / "sandbox" / "world" / "meta.json").read_text())["as_of"]
    first_load = _newest_load(var / "warehouse.duckdb", "raw_shopify.orders")

    advance = leakwatch("sandbox", "advance", "--days", "3")
    _ok(advance, "leakwatch sandbox advance --days 3")
    changed = re.search(r"(\d+) old orders changed", advance.stdout)
    assert changed and int(changed.group(1)) > 0, f"the advance must edit old orders late: {advance.stdout}"
    run = leakwatch("run")
    _ok(run, "leakwatch run (incremental)")
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", run.stdout)
    assert run_id, f"the incremental run did not publish: {run.stdout[-2000:]}"

    full = var.parent / "full_refresh" / "warehouse.duckdb"  # same file name: the views name their database
    full.parent.mkdir()
    shutil.copyfile(var / "warehouse.duckdb", full)
    target = var.parent / "dbt_target"
    _ok(_dbt(full, target, "run", "--full-refresh", "--select", "config.materialized:incremental"),
        "dbt run --full-refresh of the incremental models")
    manifest = json.loads((target / "manifest.json").read_text())
    incremental = sorted(node["relation_name"].split(".", 1)[1].replace('"', "")
                         for node in manifest["nodes"].values()
                         if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental")
    return {"var": var, "full": full, "incremental": incremental, "run_id": run_id.group(1),
            "clock_before": clock_before, "first_load": first_load, "target": target}


def test_incremental_staging_equals_a_full_refresh_after_late_edits(advanced: dict) -> None:
    assert len(advanced["incremental"]) >= 12, advanced["incremental"]
    with duckdb.connect(str(advanced["var"] / "warehouse.duckdb"), read_only=True) as con:
        con.execute(f"attach '{advanced['full']}' as full_refresh (read_only)")
        for relation in advanced["incremental"]:
            rows = con.sql(f"select count(*) from {relation}").fetchall()[0][0]
            extra = con.sql(f"select count(*) from (select * from {relation} "
                            f"except all select * from full_refresh.{relation})").fetchall()[0][0]
            missing = con.sql(f"select count(*) from (select * from full_refresh.{relation} "
                              f"except all select * from {relation})").fetchall()[0][0]
            assert rows > 0, f"{relation} is empty"
            assert (extra, missing) == (0, 0), (
                f"{relation}: {extra} rows only in the incremental build, {missing} only in the full refresh")


def test_the_run_built_incrementally_and_merged_the_late_edits(advanced: dict) -> None:
    targets = list((DBT_PROJECT / "target").glob(f"leakwatch_dbt_assets-{advanced['run_id'][:7]}-*"))
    assert len(targets) == 1, f"no dbt target folder of run {advanced['run_id']}"
    results = json.loads((targets[0] / "run_results.json").read_text())["results"]
    compiled = {r["relation_name"].split(".", 1)[1].replace('"', ""): r["compiled_code"] for r in results
                if r["unique_id"].startswith("model.") and r.get("relation_name")}
    not_incremental = [relation for relation in advanced["incremental"] if " as built" not in compiled[relation]]
    assert not not_incremental, f"rebuilt in full, not incrementally: {not_incremental}"

    with duckdb.connect(str(advanced["var"] / "warehouse.duckdb"), read_only=True) as con:
        kept, late_edits = con.sql("""
            select
                count(*) filter (where cast(loaded_by as double) <= ?),
                count(*) filter (where cast(loaded_by as double) > ? and created_at < cast(? as timestamptz))
            from staging.stg_shopify__orders
        """, params=[advanced["first_load"], advanced["first_load"], advanced["clock_before"]]).fetchall()[0]
    assert kept > 0, "orders untouched since the first run keep their first load"
    assert late_edits > 0, "orders created before the first run and edited after it were merged again"


def test_the_lookback_var_matches_the_extractions_lookback() -> None:
    from pipelines.sources.aftership.settings import LOOKBACK_SECONDS as aftership
    from pipelines.sources.reamaze.settings import LOOKBACK_SECONDS as reamaze
    from pipelines.sources.shopify.settings import LOOKBACK_SECONDS as shopify
    from pipelines.sources.stripe.settings import OVERLAP_SECONDS as stripe

    text = (DBT_PROJECT / "dbt_project.yml").read_text()
    default = re.search(r"incremental_lookback_seconds: .*LEAKWATCH_INCREMENTAL_LOOKBACK_SECONDS', '(\d+)'", text)
    assert default, "var incremental_lookback_seconds is missing from dbt_project.yml"
    assert int(default.group(1)) == max(shopify, stripe, reamaze, aftership), "the longest extraction look-back"


def test_docs_generate_cleanly(advanced: dict) -> None:
    """`make docs`: dbt docs generate (with the catalog of a built warehouse) succeeds without warnings."""
    warehouse = advanced["var"].parent / "docs" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(advanced["var"] / "warehouse.duckdb", warehouse)
    target = advanced["var"].parent / "docs_target"
    result = _dbt(warehouse, target, "docs", "generate")
    _ok(result, "dbt docs generate")
    assert "[WARNING]" not in result.stdout and "WARN" not in result.stdout.replace("WARN=0", ""), result.stdout
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    models = {key for key, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    missing = models - set(catalog["nodes"])
    assert models and not missing, f"models missing from the catalog: {sorted(missing)}"
    assert (target / "index.html").exists()
