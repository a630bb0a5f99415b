"""Run-failure alerting: a sensor that tells the webhook and e-mail channels when a run fails.

Runs on the Dagster daemon (`leakwatch ui`); `leakwatch run` sends the same alert itself. `alert_run_failure`
sends once per run id, so a run seen by both does not alert twice.
"""

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from pipelines.alerts import alert_run_failure


def failed_step_keys(context: RunFailureSensorContext) -> list[str]:
    """Step keys of the run's STEP_FAILURE events, in order, without duplicates (retries)."""
    keys: list[str] = []
    for event in context.get_step_failure_events():
        key = event.step_key or "?"
        if key not in keys:
            keys.append(key)
    return keys


@run_failure_sensor(
    name="run_failure_alert",
    default_status=DefaultSensorStatus.RUNNING,
    description="Webhook + e-mail alert when a run fails (serving.duckdb is then not published).",
)
def run_failure_alert(context: RunFailureSensorContext) -> None:
    """Send the run-failure alert: run id, job, failed steps, and that serving.duckdb was not published."""
    run = context.dagster_run
    reason = context.failure_event.message
    result = alert_run_failure(run.run_id, run.job_name, failed_step_keys(context), reason=reason)
    if result is None:
        context.log.info(f"run {run.run_id}: no alert (channels off or already sent)")
        return
    for name, channel in result.channels.items():
        context.log.info(f"run {run.run_id}: {name} {channel.status} {channel.detail}".strip())
