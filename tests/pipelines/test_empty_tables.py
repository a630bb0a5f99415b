"""A portfolio with nothing yet (no shop, Stripe account or Re:amaze brand configured, sheets with a header and no
row) still gets every raw table its sources declare, with the declared columns, so that the staging views build.

dlt creates a table only for rows it sees: a shop with no return or store credit yet used to get no
`raw_shopify.returns`, and the staging views reading it failed. The sources now declare every table up front
(`pipelines.sources.declared_tables`, the sheets their columns).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines.sources.reamaze import reamaze_source
from pipelines.sources.reamaze.settings import TABLE_COLUMNS as REAMAZE_COLUMNS
from pipelines.sources.sheets import sheets_source
from pipelines.sources.sheets.settings import SHEETS
from pipelines.sources.shopify import TABLES as SHOPIFY_TABLES
from pipelines.sources.shopify import shopify_source
from pipelines.sources.shopify.objects import OBJECT_TABLE_COLUMNS
from pipelines.sources.shopify.settings import TABLE_COLUMNS as SHOPIFY_COLUMNS
from pipelines.sources.stripe import stripe_source
from pipelines.sources.stripe.settings import TABLE_COLUMNS as STRIPE_COLUMNS
from tests.conftest import PROJECT_ROOT

DECLARED = {
    "shopify": {**SHOPIFY_COLUMNS, **OBJECT_TABLE_COLUMNS},
    "stripe": STRIPE_COLUMNS,
    "reamaze": REAMAZE_COLUMNS,
    "sheets": {name: spec.columns for name, spec in SHEETS.items()},
}


def _columns(path: Path, schema: str) -> dict[str, set[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select table_name, column_name from information_schema.columns "
                           "where table_schema = ? and table_name not like '\\_dlt%' escape '\\'", [schema]).fetchall()
    finally:
        con.close()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("empty")
    sheets = root / "sheets"
    sheets.mkdir()
    for name, spec in SHEETS.items():
        (sheets / f"{name}.csv").write_text(",".join(spec.columns) + "\n")
    path = root / "warehouse.duckdb"
    sources = {
        "shopify": shopify_source(shops=[], access_tokens={}),
        "stripe": stripe_source(accounts=[], api_keys={}),
        "reamaze": reamaze_source(brands=[], api_tokens={}),
        "sheets": sheets_source(sheets_dir=str(sheets)),
    }
    for name, source in sources.items():
        pipeline = dlt.pipeline(pipeline_name=f"empty_{name}", destination=dlt.destinations.duckdb(str(path)),
                                dataset_name=f"raw_{name}", pipelines_dir=str(root / "dlt"))
        pipeline.run(source, loader_file_format="parquet")
    return path


@pytest.mark.parametrize("source", sorted(DECLARED))
def test_every_declared_table_exists_with_its_columns_and_no_row(empty_warehouse: Path, source: str) -> None:
    loaded = _columns(empty_warehouse, f"raw_{source}")
    for table, columns in DECLARED[source].items():
        assert table in loaded, f"raw_{source}.{table} was not created"
        assert set(columns) <= loaded[table], (table, set(columns) - loaded[table])
    con = duckdb.connect(str(empty_warehouse), read_only=True)
    try:
        counts = {t: con.execute(f"select count(*) from raw_{source}.{t}").fetchone()[0] for t in DECLARED[source]}
    finally:
        con.close()
    assert set(counts.values()) == {0}, counts


def test_shopify_tables_are_the_ones_the_source_lists() -> None:
    assert set(SHOPIFY_TABLES) == set(DECLARED["shopify"])


def test_staging_views_build_on_the_empty_tables(empty_warehouse: Path, tmp_path: Path) -> None:
    """dbt builds every staging view of the four sources on the empty raw tables (AfterShip aside: its
    checkpoints are a nested table dlt names after its parent's rows)."""
    dbt = Path(sys.executable).with_name("dbt")
    project = PROJECT_ROOT / "dbt_project"
    env = {**os.environ, "LEAKWATCH_WAREHOUSE": str(empty_warehouse)}
    result = subprocess.run(
        [str(dbt), "run", "--select", "staging.shopify", "staging.stripe", "staging.reamaze", "staging.sheets",
         "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"), "--vars", '{"as_of": "2026-11-01T00:00:00Z"}'],
        env=env, capture_output=True, text=True, timeout=600, cwd=project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    built = _columns(empty_warehouse, "staging")
    expected = {p.stem for folder in ("shopify", "stripe", "reamaze", "sheets")
                for p in (project / "models" / "staging" / folder).glob("stg_*.sql")}
    assert expected <= set(built), expected - set(built)
