"""The dbt project as Dagster assets (dagster-dbt); dbt tests become asset checks and gate publishing."""


import json
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines import settings
from pipelines.defs.sources import WAREHOUSE_POOL

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)

class LeakwatchDbtTranslator(DagsterDbtTranslator):
    """Models keyed `<layer>/<model>`; dbt sources keyed like the dlt assets that load them."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "dbt"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "dbt"


def dbt_vars() -> str:
    config = settings.run_config()
    return json.dumps({
        "as_of": config.as_of_or_now().isoformat(),
        "reporting_currency": config.reporting_currency,
    })


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(settings.DBT_PROJECT_DIR))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=LeakwatchDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def leakwatch_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """`dbt build` (models, data tests, unit tests, contracts) at the run's as-of time."""
    yield from dbt.cli(["build", "--vars", dbt_vars()], context=context).stream()
