"""Publishing: the serving DB is replaced only when every upstream blocking check passed."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines import settings
from pipelines.defs.quality import GATE_KEY, MART_KEYS
from pipelines.defs.sources import WAREHOUSE_POOL
from pipelines.publish import publish


@asset(
    key=AssetKey(["serving", "published"]),
    deps=[GATE_KEY, *MART_KEYS],
    group_name="publish",
    pool=WAREHOUSE_POOL,
    description="var/serving.duckdb, replaced atomically with the checked marts.",
)
def serving_db(context: AssetExecutionContext) -> MaterializeResult:
    counts = publish(settings.warehouse_path(), settings.serving_path())
    context.log.info(f"published {settings.serving_path()} ({sum(counts.values())} rows)")
    return MaterializeResult(metadata={"path": str(settings.serving_path()), **counts})
