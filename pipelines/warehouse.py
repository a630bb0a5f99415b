"""The dlt pipelines that write the warehouse (one per source, each with its own name and state)."""

from __future__ import annotations

import dlt
from dlt.pipeline.pipeline import Pipeline

from pipelines import settings

# Parquet load files: DuckDB ingests them natively. dlt's default for DuckDB (SQL insert statements) took
# minutes and GBs of memory for the demo preset's 40k orders.
LOADER_FILE_FORMAT = "parquet"


def dlt_pipeline(source_name: str) -> Pipeline:
    """`leakwatch_<source>` loading into `raw_<source>` of var/warehouse.duckdb."""
    return dlt.pipeline(
        pipeline_name=f"leakwatch_{source_name}",
        destination=dlt.destinations.duckdb(str(settings.warehouse_path())),
        dataset_name=f"raw_{source_name}",
        pipelines_dir=str(settings.dlt_pipelines_dir()),
        progress="log",
    )
