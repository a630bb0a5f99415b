"""The monthly optimisation note: the top two `fix_candidates` with their evidence and estimated monthly saving.

The month is the last full month before the run (METRICS.md §4 window `last_full_month`); when that month has no
candidate the note falls back to the trailing 90 days. For each candidate: the slice's numbers (leak cost,
preventable part, revenue, leak rate against the portfolio rate), where it ranks among its dimension's slices
(`leakage_concentration`), the dominant cause with its owner and the suggested action, and the largest leak
events of the slice as examples (`leak_events`, joined to `leak_event_lines` for SKU, supplier and carrier).

Estimated monthly saving = the candidate's `excess_leak` (what the slice leaked above the portfolio rate on its
revenue) for the last full month, or a third of it for the trailing 90 days.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.reports.render import Report, has_table, markdown_table, query

WINDOWS = ("last_full_month", "trailing_90d")
MONTHS_IN_WINDOW = {"last_full_month": 1.0, "trailing_90d": 3.0}
TOP = 2
EXAMPLES = 3
# the leak_events column a slice of each dimension is found by, when the events carry it themselves
EVENT_COLUMNS = {"store": "store_id", "market": "market"}
LINE_COLUMNS = {"sku": "sku", "supplier": "supplier", "carrier": "carrier"}


def candidates(serving: Path) -> tuple[str | None, pd.DataFrame]:
    """The top candidates of the first window that has any, with their estimated monthly saving."""
    frame = query(serving, "select * from marts.fix_candidates order by time_window, fix_rank")
    for window in WINDOWS:
        rows = frame[frame["time_window"] == window].head(TOP).copy()
        if not rows.empty:
            rows["estimated_monthly_saving"] = rows["excess_leak"].astype(float) / MONTHS_IN_WINDOW[window]
            return window, rows.reset_index(drop=True)
    return None, frame.head(0)


def concentration(serving: Path, window: str, dimension: str, value: str) -> pd.Series | None:
    found = query(serving, """
        select pareto_rank, share, cumulative_share, count(*) over () as slices
        from marts.leakage_concentration
        where time_window = ? and dimension = ?
        qualify dimension_value = ?
    """, [window, dimension, value])
    return None if found.empty else found.iloc[0]


def examples(serving: Path, window_rows: pd.Series, dimension: str, value: str) -> pd.DataFrame:
    """The slice's largest leak events in the window: id, date, store, cause, resolution, cost in the slice."""
    found = _examples(serving, window_rows, dimension, value)
    if not found.empty:
        found["local_date"] = pd.to_datetime(found["local_date"]).dt.strftime("%Y-%m-%d")
    return found


def _examples(serving: Path, window_rows: pd.Series, dimension: str, value: str) -> pd.DataFrame:
    first, last = window_rows["first_day"], window_rows["last_day"]
    if dimension in EVENT_COLUMNS:
        column = EVENT_COLUMNS[dimension]
        return query(serving, f"""
            select leak_event_id, local_date, store_id, cause, resolution, refund_cost as cost
            from marts.leak_events
            where {column} = ? and local_date between ? and ?
            order by refund_cost desc, leak_event_id
            limit {EXAMPLES}
        """, [value, first, last])
    if dimension in LINE_COLUMNS and has_table(serving, "marts", "leak_event_lines"):
        column = LINE_COLUMNS[dimension]
        return query(serving, f"""
            select events.leak_event_id, events.local_date, events.store_id, events.cause, events.resolution,
                sum(lines.leak_cost) as cost
            from marts.leak_event_lines as lines
            inner join marts.leak_events as events on lines.leak_event_id = events.leak_event_id
            where lines.{column} = ? and events.local_date between ? and ?
            group by all
            order by cost desc, events.leak_event_id
            limit {EXAMPLES}
        """, [value, first, last])
    return pd.DataFrame()


def window_days(serving: Path, window: str) -> pd.Series:
    """First and last local day of the window, as the marts applied it (marts.leak_windows)."""
    return query(serving, """
        select window_start as first_day, window_end as last_day
        from marts.leak_windows
        where time_window = ?
    """, [window]).iloc[0]


def _money(value: float, currency: str) -> str:
    return f"{currency} {value:,.0f}"


def build(serving: Path, as_of: datetime) -> Report:
    period = as_of.date().replace(day=1)
    title = f"Leakwatch monthly optimisation note {period:%B %Y}"
    needed = [t for t in ("fix_candidates", "leakage_concentration", "leak_events", "leak_windows")
              if not has_table(serving, "marts", t)]
    if needed:
        text = (f"# Monthly optimisation note — {period:%B %Y}\n\nNot drafted: "
                + ", ".join(f"marts.{t}" for t in needed) + " is not published yet.\n")
        return Report("monthly", title, period, text, {"missing": needed})
    window, top = candidates(serving)
    if window is None:
        text = (f"# Monthly optimisation note — {period:%B %Y}\n\nNo slice leaks at twice the portfolio rate with "
                "preventable cost in the last full month or the trailing 90 days: nothing to fix first.\n")
        return Report("monthly", title, period, text, {"candidates": []})
    currency = str(query(serving, "select any_value(reporting_currency) as c from marts.fix_candidates")["c"].iloc[0])
    days = window_days(serving, window)
    label = "last month" if window == "last_full_month" else "the trailing 90 days"
    total = float(top["estimated_monthly_saving"].sum())
    lines = [f"# Monthly optimisation note — {period:%B %Y}\n",
             f"Fixing the top {len(top)} leak slices of {label} "
             f"({days['first_day']:%d %b} – {days['last_day']:%d %b %Y}) would save an estimated "
             f"**{_money(total, currency)} a month**.\n"]
    figures: dict = {"window": window, "candidates": []}
    for row in top.itertuples(index=False):
        rank_in_dim = concentration(serving, window, row.dimension, row.dimension_value)
        ratio = float(row.leak_rate) / float(row.portfolio_leak_rate) if row.portfolio_leak_rate else None
        lines += [
            f"## {row.fix_rank}. {row.dimension} `{row.dimension_value}` — {row.suggested_action}\n",
            f"- Leak cost {_money(float(row.leak_cost), currency)} on revenue {_money(float(row.revenue), currency)}: "
            f"leak rate {float(row.leak_rate):.1%} against the portfolio's {float(row.portfolio_leak_rate):.1%}"
            + (f" ({ratio:.1f}×)" if ratio else "") + ".",
            f"- Preventable: {_money(float(row.preventable_leak_cost), currency)}; dominant cause "
            f"`{row.dominant_cause}` (owner: {row.owner}).",
            f"- Estimated monthly saving: **{_money(float(row.estimated_monthly_saving), currency)}** "
            f"(excess leak {_money(float(row.excess_leak), currency)} over the window).",
        ]
        if rank_in_dim is not None:
            lines.append(f"- Rank {int(rank_in_dim['pareto_rank'])} of {int(rank_in_dim['slices'])} {row.dimension} "
                         f"slices by leak cost, {float(rank_in_dim['share']):.1%} of all leak in the window.")
        sample = examples(serving, days, row.dimension, row.dimension_value)
        lines.append("")
        if not sample.empty:
            lines += ["Largest leak events of the slice:\n", markdown_table(sample, {"cost": ",.2f"})]
        figures["candidates"].append({
            "dimension": row.dimension, "dimension_value": row.dimension_value, "leak_cost": float(row.leak_cost),
            "leak_rate": float(row.leak_rate), "excess_leak": float(row.excess_leak),
            "estimated_monthly_saving": float(row.estimated_monthly_saving), "dominant_cause": row.dominant_cause,
            "examples": sample["leak_event_id"].astype(str).tolist() if not sample.empty else [],
        })
    return Report("monthly", title, period, "\n".join(lines), figures)
