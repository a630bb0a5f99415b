"""Building blocks every page uses: KPI tiles against targets, mart tables with CSV download, trend charts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboards import charts, data
from dashboards.filters import Scope
from dashboards.formatting import fmt_money, fmt_pct, fmt_target, is_missing
from dashboards.kpis import KpiTarget

DEFAULT_CURRENCY = "USD"
NO_DATA_HINT = (
    "Run `make demo` (sandbox, full pipeline run and publish) or `leakwatch run` to build and publish it, "
    "then reload this page."
)
# Column-name parts that mark an amount in the reporting currency.
MONEY_HINTS = ("cost", "amount", "revenue", "profit", "recovered", "saving", "excess_leak", "fee")


@dataclass(frozen=True)
class Kpi:
    """How one canonical metric (METRICS.md §13) is shown: label, kind (pct|money|count|hours|days), help."""

    metric: str
    label: str
    kind: str = "pct"
    help: str | None = None


def reporting_currency() -> str:
    """The reporting currency of the marts (USD, the config default, when there are no leakage rows yet)."""
    frame = data.run_query("reporting_currency")
    return str(frame.iloc[0, 0]) if not frame.empty else DEFAULT_CURRENCY


def fmt_value(value: float | None, kind: str, currency: str) -> str:
    """A KPI value as text for its kind."""
    if is_missing(value):
        return "—"
    if kind == "pct":
        return fmt_pct(value)
    if kind == "money":
        return fmt_money(value, currency)
    if kind in ("hours", "days"):
        return f"{value:,.1f} {'h' if kind == 'hours' else 'd'}"
    return f"{value:,.0f}"


def delta_vs_target(value: float | None, target: KpiTarget | None, kind: str, currency: str) -> tuple[str | None, str]:
    """('+2.9 pp vs 5 % target', 'red') - green when the target is met, red when not; (None, 'gray') without one."""
    if value is None or target is None:
        return None, "gray"
    colour = "green" if target.is_met(value) else "red"
    if kind == "pct":
        return f"{(value - target.value) * 100:+.1f} pp vs {fmt_target(target.value)} target", colour
    diff, goal = fmt_value(abs(value - target.value), kind, currency), fmt_value(target.value, kind, currency)
    return f"{'+' if value >= target.value else '-'}{diff} vs {goal} target", colour


def kpi_tile(column: DeltaGenerator, kpi: Kpi, value: float | None, target: KpiTarget | None, currency: str,
             available: bool = True) -> None:
    """One bordered tile; 'not available yet' when the metric is not in marts.kpis at all."""
    label = f"{kpi.label} ({currency})" if kpi.kind == "money" else kpi.label
    if not available:
        column.metric(label, "n/a", border=True, help=f"`{kpi.metric}` is not in marts.kpis yet.")
        return
    delta, colour = delta_vs_target(value, target, kpi.kind, currency)
    column.metric(label, fmt_value(value, kpi.kind, currency), delta=delta, delta_color=colour, delta_arrow="off",
                  border=True, help=kpi.help)


def not_available(what: str, tables: list[str]) -> None:
    """The friendly note for a section whose marts have not been published yet."""
    names = ", ".join(f"`marts.{t}`" for t in tables)
    st.info(f"{what} is not available yet: serving.duckdb has no {names}. It appears here once the pipeline "
            "builds and publishes it.", icon=":material/hourglass_empty:")


def money_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns that hold reporting-currency amounts (by name; ``*_local``/``original_*`` are not)."""
    return [
        c for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and any(h in c for h in MONEY_HINTS)
        and not c.endswith(("_pct", "_rate", "_share", "_count", "_days", "_hours"))
        and "pct" not in c and "rate" not in c and "original" not in c and "local" not in c
    ]


def column_config(frame: pd.DataFrame, currency: str) -> dict[str, object]:
    """Labels with the reporting currency on money columns, percent format on rates and shares."""
    config: dict[str, object] = {}
    for column in frame.columns:
        title = column.replace("_", " ").capitalize()
        if column in money_columns(frame):
            config[column] = st.column_config.NumberColumn(f"{title} ({currency})", format="%.2f")
        elif pd.api.types.is_float_dtype(frame[column]) and (
                column == "share" or column.endswith(("_rate", "_share", "_pct", "_ratio", "_coverage"))):
            config[column] = st.column_config.NumberColumn(title, format="percent")
        elif column == "period_start" and pd.api.types.is_datetime64_any_dtype(frame[column]):
            config[column] = st.column_config.DateColumn(title, format="YYYY-MM-DD")
    return config


def table(frame: pd.DataFrame, name: str, currency: str, key: str | None = None,
          config: dict[str, object] | None = None, **kwargs: object) -> None:
    """A table and its 'Download CSV' button (what is shown is what is downloaded).

    The CSV is written only when the button is clicked (a callable), so a long table costs nothing per rerun.
    """
    st.dataframe(frame, hide_index=True, column_config=config or column_config(frame, currency), **kwargs)
    st.download_button(
        "Download CSV",
        lambda: frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=key or f"csv_{name}",
    )


def mart_frame(name: str, scope: Scope, date_column: str | None = None) -> pd.DataFrame | None:
    """Rows of ``marts.<name>`` in the filtered scope, or None when the mart is not published yet."""
    if name not in data.mart_columns():
        return None
    frame = data.run_query(f"mart_{name}")
    if date_column is None:
        date_column = next((c for c in ("period_start", "local_date") if c in frame.columns), None)
    return scope.filter_frame(frame, date_column).reset_index(drop=True)


def mart_section(title: str, name: str, scope: Scope, currency: str, what: str | None = None,
                 shape: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
                 date_column: str | None = None) -> pd.DataFrame | None:
    """A subheader and the mart's rows as a downloadable table; the friendly note when it is missing."""
    st.subheader(title)
    frame = mart_frame(name, scope, date_column)
    if frame is None:
        not_available(what or title, [name])
        return None
    if shape is not None:
        frame = shape(frame)
    st.caption(f"{len(frame):,} rows from `marts.{name}` in the selected stores and dates.")
    table(frame, name, currency)
    return frame


def kpi_row(kpi_list: list[Kpi], values: pd.DataFrame, month: date | None, targets: dict[str, KpiTarget],
            currency: str, per_row: int = 4) -> None:
    """Tiles for the KPIs (value of ``month`` for month metrics, the latest for as-of metrics)."""
    from dashboards.kpis import latest

    present = set(values["metric"])
    for start in range(0, len(kpi_list), per_row):
        chunk = kpi_list[start:start + per_row]
        for column, kpi in zip(st.columns(per_row), chunk, strict=False):
            kpi_tile(column, kpi, latest(values, kpi.metric, month), targets.get(kpi.metric), currency,
                     available=kpi.metric in present)


def trend(values: pd.DataFrame, kpi_list: list[Kpi], targets: dict[str, KpiTarget], currency: str,
          title: str = "Trend") -> None:
    """One line chart per KPI kind (rates together, money together) over the months of the range."""
    rows = values[(values["grain"] == "month") & values["dimension"].isna()]
    labels = {k.metric: (f"{k.label} ({currency})" if k.kind == "money" else k.label) for k in kpi_list}
    kinds = {k.metric: k.kind for k in kpi_list}
    rows = rows[rows["metric"].isin(labels)].dropna(subset=["value"])
    if rows["period_start"].nunique() < 2:
        return
    st.subheader(title)
    for kind in dict.fromkeys(kinds[m] for m in rows["metric"]):
        part = rows[rows["metric"].map(kinds) == kind].assign(label=lambda f: f["metric"].map(labels))
        goal = [targets[m].value for m in part["metric"].unique() if m in targets]
        chart = charts.kpi_trend_chart(part, kind, currency, goal[0] if len(goal) == 1 else None)
        st.altair_chart(chart, width="stretch")


def month_picker(values: pd.DataFrame, key: str) -> date | None:
    """A month selector over the months with values, newest first (None when there are none)."""
    months = sorted({pd.Timestamp(m).date() for m in values.loc[values["grain"] == "month", "period_start"]},
                    reverse=True)
    if not months:
        return None
    return st.selectbox("Month", months, index=0, format_func=lambda m: m.strftime("%B %Y"), key=key)


def bar(frame: pd.DataFrame, category: str, value: str, title: str, fmt: str = ",.2f") -> alt.Chart:
    """Horizontal bars of ``value`` by ``category``, largest first."""
    return charts.bar_chart(frame, category, value, title, fmt)


def run_page(title: str, render: Callable[[Scope], None]) -> None:
    """Title, then ``render(scope)``; a friendly message instead of a traceback when serving.duckdb fails."""
    from dashboards import filters

    st.title(title)
    try:
        render(filters.current())
    except data.ServingDbMissing:
        st.info(f"No published data yet: `{data.serving_db_path()}` does not exist. {NO_DATA_HINT}")
    except data.ServingDbError as exc:
        st.warning(str(exc))


def report_month(scope: Scope) -> date | None:
    """The latest complete month in the date range (the latest month when none is complete yet)."""
    from dashboards.narrative import headline_month

    months = data.run_query("months")
    months = months[months["period_start"].map(scope.month_in_range)]
    return None if months.empty else headline_month(months)


def area_kpis(scope: Scope, kpi_list: list[Kpi], currency: str, what: str) -> pd.DataFrame:
    """Tiles of the latest month in the range (as-of KPIs: the last run) and the monthly trend of ``kpi_list``.

    Returns the KPI rows (empty when none of the metrics is in marts.kpis yet, after saying so).
    """
    from dashboards import kpis

    values = kpis.fetch([k.metric for k in kpi_list], scope)
    if values.empty:
        st.info(f"{what} KPIs are not available yet: marts.kpis has none of "
                f"{', '.join(f'`{k.metric}`' for k in kpi_list)}. They appear here once the pipeline publishes them.",
                icon=":material/hourglass_empty:")
        return values
    month = report_month(scope) or kpis.latest_month(values)
    goals = kpis.targets()
    if month is not None:
        st.caption(f"Monthly KPIs of {month:%B %Y} (the latest complete month in the selected dates) for "
                   f"{scope.label}; point-in-time counts are as of the last run.")
    kpi_row(kpi_list, values, month, goals, currency)
    if not scope.all_stores and len(scope.store_ids) > 1:
        st.caption("Rates and percentiles are shown for one store or the whole portfolio only.")
    trend(values, kpi_list, goals, currency)
    return values


def count_chart(frame: pd.DataFrame, column: str, title: str) -> None:
    """Bars of row counts per value of ``column`` (when the mart has it)."""
    if column not in frame.columns or frame.empty:
        return
    counts = frame[column].fillna("(none)").astype(str).value_counts().rename_axis(column).reset_index(name="rows")
    st.altair_chart(bar(counts, column, "rows", title, fmt=",.0f"), width="stretch")
