"""The data-completeness gate: every GX suite as a blocking Dagster asset check on one gate asset.

Dagster skips only the steps downstream of a failed blocking check's step. The marts are built in the same
dbt step as the staging models the checks look at, so checks attached to those models would not stop
publishing. The gate is therefore its own asset, after the marts, and `serving/published` depends on it.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    asset,
)

from expectations.results import record
from expectations.runner import run_check
from expectations.suites import CHECKS, CheckOutcome
from pipelines import settings
from pipelines.alerts import alert_check_outcomes
from pipelines.defs.dbt import leakwatch_dbt_assets
from pipelines.defs.sources import WAREHOUSE_POOL

GATE_KEY = AssetKey(["quality", "data_completeness"])
# Every dbt mart: the gate runs after all of them, and publishing after the gate.
MART_KEYS = sorted((key for key in leakwatch_dbt_assets.keys if key.path[0] == "marts"), key=lambda k: k.path)


def _result(outcome: CheckOutcome) -> AssetCheckResult:
    check = outcome.check
    return AssetCheckResult(
        check_name=check.name,
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR if check.severity == "block" else AssetCheckSeverity.WARN,
        description=outcome.summary(),
        metadata={
            "domain": check.domain,
            "severity": check.severity,
            "table": check.table,
            "observed": outcome.observed,
            "expected": outcome.expected,
            "failing_keys": ", ".join(outcome.failing_keys[:20]),
        },
    )


def _send_alerts(context: AssetExecutionContext, outcomes: list[CheckOutcome]) -> None:
    """Alert on failures and recoveries (deduplicated in pipelines.alerts); never changes the gate's result."""
    try:
        for result in alert_check_outcomes(outcomes, run_id=context.run_id):
            states = ", ".join(f"{name} {r.status} {r.detail}".strip() for name, r in result.channels.items())
            failed = any(r.status == "failed" for r in result.channels.values())
            (context.log.warning if failed else context.log.info)(f"alert {result.alert.kind} {result.key}: {states}")
    except Exception as exc:  # noqa: BLE001 - alerting trouble must not change what the gate decides
        context.log.warning(f"alerting failed: {type(exc).__name__}: {exc}")


@asset(
    key=GATE_KEY,
    deps=MART_KEYS,
    check_specs=[
        AssetCheckSpec(name=check.name, asset=GATE_KEY, description=check.description,
                       blocking=check.severity == "block")
        for check in CHECKS
    ],
    group_name="checks",
    pool=WAREHOUSE_POOL,
    description="Data completeness (METRICS.md §12): GX suites over the warehouse; a failing block check stops "
                "publishing.",
)
def data_completeness(context: AssetExecutionContext) -> MaterializeResult:
    as_of = settings.run_config().as_of_or_now()
    outcomes = [run_check(check, settings.warehouse_path(), as_of, settings.gx_dir(), context.run_id)
                for check in CHECKS]
    for outcome in outcomes:
        (context.log.info if outcome.passed else context.log.error)(outcome.summary())
    _send_alerts(context, outcomes)
    record(settings.warehouse_path(), outcomes, context.run_id, as_of)
    passed = sum(o.passed for o in outcomes)
    return MaterializeResult(
        metadata={"checks": len(outcomes), "passed": passed, "data_completeness": passed / len(outcomes)},
        check_results=[_result(o) for o in outcomes],
    )
