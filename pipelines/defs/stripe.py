"""Stripe extraction asset: one multi-asset filling `raw_stripe/<table>` for every configured account."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.defs.sources import EXTRACT_RETRY_POLICY, WAREHOUSE_POOL
from pipelines.sandbox_runtime import ensure_emulators
from pipelines.sources.stripe import TABLES as STRIPE_TABLES
from pipelines.sources.stripe import stripe_source
from pipelines.warehouse import LOADER_FILE_FORMAT, dlt_pipeline


@multi_asset(
    name="stripe",
    specs=[
        AssetSpec(AssetKey(["raw_stripe", table]), group_name="sources_stripe", kinds={"dlt", "duckdb"},
                  description=f"Stripe {table.replace('_', ' ')} of every brand account (dlt, merged on id).")
        for table in STRIPE_TABLES
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=EXTRACT_RETRY_POLICY,
)
def stripe_assets(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    """Charges, refunds, disputes, balance transactions and payment intents (incremental with late changes).

    A plain multi-asset: one dlt resource fills the five tables (late changes cross them).
    """
    ensure_emulators()
    pipeline = dlt_pipeline("stripe")
    load_info = pipeline.run(stripe_source(), loader_file_format=LOADER_FILE_FORMAT)
    context.log.info(str(load_info))
    rows = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    for table in STRIPE_TABLES:
        yield MaterializeResult(
            asset_key=AssetKey(["raw_stripe", table]),
            metadata={"rows_loaded": rows.get(table, 0), "load_ids": ", ".join(load_info.loads_ids)},
        )
