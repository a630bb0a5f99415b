"""`leakwatch run`: execute the nightly job in this process, with the same definitions the UI shows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dagster import DagsterEventType, DagsterInstance

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    published: bool
    failed_checks: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)


def ensure_dbt_manifest() -> None:
    """dagster-dbt needs target/manifest.json: run `dbt parse` when it is missing."""
    from pipelines.defs.dbt import dbt_project

    if not dbt_project.manifest_path.exists():
        from dagster_dbt import DbtCliResource

        DbtCliResource(project_dir=dbt_project).cli(["parse", "--quiet"]).wait()


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
