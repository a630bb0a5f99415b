"""`leakwatch run`: execute the nightly job in this process, with the same definitions the UI shows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

log = logging.getLogger(__name__)


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


def run_nightly(log_level: str = "INFO") -> RunOutcome:
    from pipelines import settings

    settings.activate_config()
    settings.install_dagster_home()
    ensure_dbt_manifest()
    from pipelines.definitions import defs

    instance = DagsterInstance.get()
    job = defs.get_job_def("nightly")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        tags={"leakwatch/trigger": "cli"},
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
