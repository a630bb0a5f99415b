"""The nightly job (everything, extract → dbt → checks → publish) and its schedule, RUNNING by default."""


import os

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

nightly_job = define_asset_job(
    name="nightly",
    selection=AssetSelection.all() | AssetSelection.all_asset_checks(),
    description="Extract every source, build and test the dbt project, run completeness checks, publish.",
)

nightly_schedule = ScheduleDefinition(
    name="nightly_schedule",
    job=nightly_job,
    cron_schedule=os.environ.get("LEAKWATCH_NIGHTLY_CRON", "0 5 * * *"),
    execution_timezone=os.environ.get("LEAKWATCH_TIMEZONE", "UTC"),
    default_status=DefaultScheduleStatus.RUNNING,
)
