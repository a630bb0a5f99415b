"""The Dagster definitions load, and are wired the way publishing safety depends on."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DefaultScheduleStatus


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory):
    patch = pytest.MonkeyPatch()
    patch.setenv("LEAKWATCH_VAR", str(tmp_path_factory.mktemp("var")))
    from pipelines.run import ensure_dbt_manifest

    ensure_dbt_manifest()
    from pipelines.definitions import defs

    yield defs
    patch.undo()


def test_nightly_schedule_is_running_by_default(defs) -> None:
    schedule = defs.get_schedule_def("nightly_schedule")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "nightly"


def test_publish_waits_for_the_blocking_completeness_gate(defs) -> None:
    graph = defs.resolve_asset_graph()
    publish = AssetKey(["serving", "published"])
    gate = AssetKey(["quality", "data_completeness"])
    assert gate in graph.get(publish).parent_keys, "publish must depend on the gate's own step"
    checks = [graph.get_check_spec(key) for key in graph.asset_check_keys if key.asset_key == gate]
    assert {c.name for c in checks} >= {"sku_mapped_to_supplier_and_cogs", "orders_fresh"}
    assert all(c.blocking for c in checks)


def test_every_warehouse_writer_is_in_the_single_writer_pool(defs) -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        assert set(graph.get(key).pools) == {"warehouse"}, key


def test_dagster_yaml_limits_pools_to_one(defs) -> None:
    import yaml

    from pipelines import settings

    config = yaml.safe_load((settings.PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1
