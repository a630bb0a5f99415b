"""AfterShip extraction: trackings and their checkpoints, keyed `raw_aftership/<table>` like the dbt sources."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.defs.sources import EXTRACT_RETRY_POLICY, WAREHOUSE_POOL
from pipelines.sandbox_runtime import ensure_emulators
from pipelines.sources.aftership import TABLES as AFTERSHIP_TABLES
from pipelines.sources.aftership import aftership_source
from pipelines.warehouse import LOADER_FILE_FORMAT, dlt_pipeline

DESCRIPTIONS = {
    "trackings": "AfterShip trackings (one per parcel; incremental on updated_at, merged on id).",
    "trackings__checkpoints": "AfterShip checkpoints of each tracking (replaced with their tracking).",
}


@multi_asset(
    name="aftership",
    specs=[
        AssetSpec(AssetKey(["raw_aftership", table]), group_name="sources_aftership", kinds={"dlt", "duckdb"},
                  description=DESCRIPTIONS[table])
        for table in AFTERSHIP_TABLES
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=EXTRACT_RETRY_POLICY,
)
def aftership_assets(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    """Trackings with checkpoints from the AfterShip Tracking API (one resource fills both tables)."""
    ensure_emulators()
    pipeline = dlt_pipeline("aftership")
    load_info = pipeline.run(aftership_source(), loader_file_format=LOADER_FILE_FORMAT)
    context.log.info(str(load_info))
    rows = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    for table in AFTERSHIP_TABLES:
        yield MaterializeResult(
            asset_key=AssetKey(["raw_aftership", table]),
            metadata={"rows_loaded": rows.get(table, 0), "load_ids": ", ".join(load_info.loads_ids)},
        )
