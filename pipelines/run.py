"""`leakwatch run`: execute the nightly job in this process, with the same definitions the UI shows."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

log = logging.getLogger(__name__)
PID_TAG = "leakwatch/pid"  # the process of a CLI run: a run whose process is gone was killed


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    published: bool
    failed_checks: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)


def _dbt_sources_newer_than(manifest: Path, project_dir: Path) -> bool:
    """Whether any model, macro, test or project file changed after `manifest` was written."""
    written = manifest.stat().st_mtime
    files = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "tests", "seeds", "snapshots"):
        if (project_dir / folder).is_dir():
            files += [f for f in (project_dir / folder).rglob("*") if f.is_file()]
    return any(f.exists() and f.stat().st_mtime > written for f in files)


def ensure_dbt_manifest() -> None:
    """dagster-dbt builds its assets from target/manifest.json: run `dbt parse` when it is missing or older than
    the project's files (a model added since the last parse would otherwise be missing from the run)."""
    from pipelines import settings

    project_dir = Path(settings.DBT_PROJECT_DIR)
    manifest = project_dir / "target" / "manifest.json"
    if manifest.exists() and not _dbt_sources_newer_than(manifest, project_dir):
        return
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(project_dir),
                                 "--profiles-dir", str(project_dir)])
    if not result.success:
        raise RuntimeError(f"dbt parse failed in {project_dir}: {result.exception or 'see dbt_project/logs'}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_runs(instance: DagsterInstance) -> list[str]:
    """Fail the CLI runs whose process is gone (killed mid-run) and free their concurrency slots.

    A `leakwatch run` killed with SIGKILL never reports its end: Dagster keeps it STARTED and keeps the
    `warehouse` pool slot it claimed, so the next run would wait for that slot forever. Runs of live processes
    (another `leakwatch run`, the daemon's) are left alone. Returns the released run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    released = []
    in_progress = RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING,
                                       DagsterRunStatus.NOT_STARTED, DagsterRunStatus.CANCELING])
    for run in instance.get_runs(filters=in_progress):
        pid = run.tags.get(PID_TAG)
        if pid is None or not pid.isdigit() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, message=f"process {pid} of this run is gone (killed); released by the next run")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        log.warning("run %s died with its process %s: marked failed, its warehouse slot freed", run.run_id, pid)
        released.append(run.run_id)
    return released


def run_nightly(log_level: str = "INFO") -> RunOutcome:
    from pipelines import settings

    settings.activate_config()
    config = settings.run_config()
    if config.is_sandbox and config.sandbox_world is not None:
        from pipelines.sandbox_runtime import check_served_world

        check_served_world(config.sandbox_world)  # emulators of another checkout on our ports: fail, don't mix
    settings.install_dagster_home()
    ensure_dbt_manifest()
    from pipelines.definitions import defs

    instance = DagsterInstance.get()
    release_dead_runs(instance)
    job = defs.get_job_def("nightly")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        tags={"leakwatch/trigger": "cli", PID_TAG: str(os.getpid())},
    )
    outcome = RunOutcome(run_id=result.run_id, success=result.success, published=False)
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                outcome.failed_checks.append(evaluation.description or evaluation.check_name)
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            outcome.failed_steps.append(event.step_key or "?")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            if event.asset_key and event.asset_key.path == ["serving", "published"]:
                outcome.published = True
    return outcome
