"""Leakwatch's Dagster definitions: gathered here, defined in `pipelines/defs/` (one module per integration)."""

from __future__ import annotations

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from pipelines import settings

settings.activate_config()

from pipelines.defs.aftership import aftership_assets  # noqa: E402
from pipelines.defs.alerting import run_failure_alert  # noqa: E402
from pipelines.defs.dbt import dbt_resource, leakwatch_dbt_assets  # noqa: E402
from pipelines.defs.quality import data_completeness  # noqa: E402
from pipelines.defs.reamaze import reamaze_assets  # noqa: E402
from pipelines.defs.reports import daily_standup, monthly_note, weekly_kpi  # noqa: E402
from pipelines.defs.schedules import nightly_job, nightly_schedule  # noqa: E402
from pipelines.defs.serving import serving_db  # noqa: E402
from pipelines.defs.sources import sheets_assets, shopify_assets  # noqa: E402
from pipelines.defs.stripe import stripe_assets  # noqa: E402

defs = Definitions(
    assets=[
        # sources
        shopify_assets, sheets_assets, reamaze_assets, stripe_assets, aftership_assets,
        # transform, check, publish, report
        leakwatch_dbt_assets, data_completeness, serving_db, daily_standup, weekly_kpi, monthly_note,
    ],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[run_failure_alert],
    resources={"dlt": DagsterDltResource(), "dbt": dbt_resource()},
)
