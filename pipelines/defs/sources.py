"""Extraction assets, one multi-asset per dlt source, keyed `raw_<source>/<table>` like the dbt sources."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, Backoff, MaterializeResult, RetryPolicy, multi_asset
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from pipelines.sandbox_runtime import ensure_emulators
from pipelines.sources.sheets import sheets_source
from pipelines.sources.shopify import TABLES as SHOPIFY_TABLES
from pipelines.sources.shopify import shopify_source
from pipelines.warehouse import LOADER_FILE_FORMAT, dlt_pipeline

WAREHOUSE_POOL = "warehouse"
# API extraction only: a 429/5xx streak or a dropped connection that outlasts the clients' own retries gets the
# whole step again after 15 s, then 30 s. dbt, the gate and publishing fail at once (a retry would not help);
# so do the sheets (local files: a bad row stays bad).
EXTRACT_RETRY_POLICY = RetryPolicy(max_retries=2, delay=15, backoff=Backoff.EXPONENTIAL)


class RawTableTranslator(DagsterDltTranslator):
    """Asset key `raw_<source>/<resource>`, which is also how the dbt sources name them."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=AssetKey([f"raw_{data.resource.source_name}", data.resource.name]),
            deps=[],
        )


@multi_asset(
    name="shopify",
    specs=[
        AssetSpec(AssetKey(["raw_shopify", table]), group_name="sources_shopify", kinds={"dlt", "duckdb"},
                  description=f"Shopify {table.replace('_', ' ')} of every store (dlt, merged on id).")
        for table in SHOPIFY_TABLES
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=EXTRACT_RETRY_POLICY,
)
def shopify_assets(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    """Orders with line items, transactions and refunds from every configured shop (incremental, merged).

    A plain multi-asset rather than dagster-dlt's `dlt_assets`: one dlt resource fills five tables, and
    dagster-dbt needs one asset key per dbt source table.
    """
    ensure_emulators()
    pipeline = dlt_pipeline("shopify")
    load_info = pipeline.run(shopify_source(), loader_file_format=LOADER_FILE_FORMAT)
    context.log.info(str(load_info))
    rows = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    for table in SHOPIFY_TABLES:
        yield MaterializeResult(
            asset_key=AssetKey(["raw_shopify", table]),
            metadata={"rows_loaded": rows.get(table, 0), "load_ids": ", ".join(load_info.loads_ids)},
        )


@dlt_assets(
    dlt_source=sheets_source(sheets_dir="."),
    dlt_pipeline=dlt_pipeline("sheets"),
    name="sheets",
    group_name="sources_sheets",
    dagster_dlt_translator=RawTableTranslator(),
    pool=WAREHOUSE_POOL,
)
def sheets_assets(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """The ops team's sheets, validated in full before loading (a bad row names file, row and column)."""
    yield from dlt.run(context=context, dlt_source=sheets_source(), loader_file_format=LOADER_FILE_FORMAT)

