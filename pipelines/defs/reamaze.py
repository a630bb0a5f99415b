"""Re:amaze extraction: one multi-asset filling `raw_reamaze/<table>` (the dbt source `raw_reamaze`)."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.defs.sources import EXTRACT_RETRY_POLICY, WAREHOUSE_POOL
from pipelines.sandbox_runtime import ensure_emulators
from pipelines.sources.reamaze import TABLES as REAMAZE_TABLES
from pipelines.sources.reamaze import reamaze_source
from pipelines.warehouse import LOADER_FILE_FORMAT, dlt_pipeline


@multi_asset(
    name="reamaze",
    specs=[
        AssetSpec(AssetKey(["raw_reamaze", table]), group_name="sources_reamaze", kinds={"dlt", "duckdb"},
                  description=f"Re:amaze {table.replace('_', ' ')} of every brand (dlt, merged on keys).")
        for table in REAMAZE_TABLES
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=EXTRACT_RETRY_POLICY,
)
def reamaze_assets(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    """Conversations, messages, staff, contacts and response templates of every configured brand.

    A plain multi-asset: one dlt resource fills both `conversations` and `messages` (the conversation walk
    stops using the messages of the window), and dagster-dbt needs one asset key per dbt source table.
    """
    ensure_emulators()
    pipeline = dlt_pipeline("reamaze")
    load_info = pipeline.run(reamaze_source(), loader_file_format=LOADER_FILE_FORMAT)
    context.log.info(str(load_info))
    rows = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    for table in REAMAZE_TABLES:
        yield MaterializeResult(
            asset_key=AssetKey(["raw_reamaze", table]),
            metadata={"rows_loaded": rows.get(table, 0), "load_ids": ", ".join(load_info.loads_ids)},
        )
