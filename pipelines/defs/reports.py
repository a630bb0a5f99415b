"""The ops reports as assets after publishing: drafted from serving.duckdb, written to var/reports/, e-mailed."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines import settings
from pipelines.reports import daily, monthly, weekly
from pipelines.reports.render import email, write

PUBLISHED = AssetKey(["serving", "published"])


def _report(context: AssetExecutionContext, builder) -> MaterializeResult:
    report = builder(settings.serving_path(), settings.run_config().as_of_or_now())
    md_path, html_path = write(report, settings.var_dir() / "reports")
    mailed = email(report)
    context.log.info(f"{report.title}: {md_path} ({html_path.name}); e-mail {mailed}")
    return MaterializeResult(metadata={"markdown": str(md_path), "html": str(html_path), "email": mailed})


@asset(key=AssetKey(["reports", "daily_standup"]), deps=[PUBLISHED], group_name="reports",
       description="Daily standup (Markdown + HTML in var/reports/, e-mailed when SMTP is set).")
def daily_standup(context: AssetExecutionContext) -> MaterializeResult:
    return _report(context, daily.build)


@asset(key=AssetKey(["reports", "weekly_kpi"]), deps=[PUBLISHED], group_name="reports",
       description="Weekly KPI report: the six KPIs this week vs last week vs target.")
def weekly_kpi(context: AssetExecutionContext) -> MaterializeResult:
    return _report(context, weekly.build)


@asset(key=AssetKey(["reports", "monthly_note"]), deps=[PUBLISHED], group_name="reports",
       description="Monthly optimisation note: the top two fix candidates, their evidence and estimated saving.")
def monthly_note(context: AssetExecutionContext) -> MaterializeResult:
    return _report(context, monthly.build)
