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
    from expectations.suites import CHECKS

    assert {c.name for c in checks} == {c.name for c in CHECKS}
    severity = {c.name: c.severity for c in CHECKS}
    assert {c.name: c.blocking for c in checks} == {name: s == "block" for name, s in severity.items()}
    assert severity["sku_mapped_to_supplier_and_cogs"] == severity["orders_fresh"] == "block"


def test_every_warehouse_writer_is_in_the_single_writer_pool(defs) -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        if key.path[0] == "reports":  # they only read serving.duckdb (read-only, short connections)
            assert graph.get(key).pools == set() or graph.get(key).pools is None, key
            continue
        assert set(graph.get(key).pools) == {"warehouse"}, key


def test_reports_run_after_publishing(defs) -> None:
    graph = defs.resolve_asset_graph()
    reports = [key for key in graph.materializable_asset_keys if key.path[0] == "reports"]
    assert {key.path[1] for key in reports} == {"daily_standup", "weekly_kpi", "monthly_note"}
    for key in reports:
        assert AssetKey(["serving", "published"]) in graph.get(key).parent_keys


def test_dagster_yaml_limits_pools_to_one(defs) -> None:
    import yaml

    from pipelines import settings

    config = yaml.safe_load((settings.PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_schedule_tick_requests_the_nightly_job(defs) -> None:
    from datetime import UTC, datetime

    from dagster import build_schedule_context

    schedule = defs.get_schedule_def("nightly_schedule")
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 3, 5, 0, tzinfo=UTC))
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert len(requests) == 1
    assert schedule.cron_schedule == "0 5 * * *"


def test_only_the_api_extraction_steps_retry_with_backoff(defs) -> None:
    from dagster import Backoff

    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("nightly")
    assert job.op_retry_policy is None, "no job-wide retries: dbt, the gate and publishing must fail at once"
    retrying = {}
    for key in graph.materializable_asset_keys:
        policy = graph.assets_def_for_key(key).op.retry_policy
        retrying[key.path[0]] = retrying.get(key.path[0], set()) | {policy}
    for source in ("raw_shopify", "raw_stripe", "raw_reamaze", "raw_aftership"):
        (policy,) = retrying[source]
        assert policy is not None, source
        assert policy.max_retries >= 1 and policy.delay and policy.backoff == Backoff.EXPONENTIAL, source
    for step in ("raw_sheets", "staging", "intermediate", "marts", "quality", "serving", "reports"):
        assert retrying[step] == {None}, step


def test_a_model_changed_after_the_manifest_makes_it_stale(tmp_path) -> None:
    """`ensure_dbt_manifest` re-parses when a model or macro is newer than target/manifest.json."""
    import os

    from pipelines.run import _dbt_sources_newer_than

    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    model = tmp_path / "models" / "marts" / "m.sql"
    model.write_text("select 1")
    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    for path, when in ((tmp_path / "dbt_project.yml", 1000), (model, 1000), (manifest, 2000)):
        os.utime(path, (when, when))
    assert not _dbt_sources_newer_than(manifest, tmp_path)
    os.utime(model, (3000, 3000))
    assert _dbt_sources_newer_than(manifest, tmp_path)


def test_a_killed_runs_warehouse_slot_is_released_by_the_next_run(tmp_path) -> None:
    """A SIGKILLed `leakwatch run` stays STARTED holding the pool slot; the next run fails it and frees the slot,
    and leaves a live process's run alone."""
    import os
    import subprocess

    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.run import PID_TAG, release_dead_runs

    dead = subprocess.Popen(["true"])
    dead.wait()
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("warehouse", 1)
        runs = {}
        for name, pid in (("killed", dead.pid), ("alive", os.getpid())):
            run = DagsterRun(job_name="nightly", status=DagsterRunStatus.STARTED, tags={PID_TAG: str(pid)})
            instance.add_run(run)
            storage.claim_concurrency_slot("warehouse", run.run_id, f"{name}_step")
            runs[name] = run.run_id
        assert storage.get_concurrency_info("warehouse").claimed_slots  # both hold or wait on the slot

        assert release_dead_runs(instance) == [runs["killed"]]
        assert instance.get_run_by_id(runs["killed"]).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(runs["alive"]).status == DagsterRunStatus.STARTED
        holders = {slot.run_id for slot in storage.get_concurrency_info("warehouse").claimed_slots}
        assert runs["killed"] not in holders
