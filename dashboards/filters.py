"""Global filters (brand, market, store, date range) in the sidebar, mirrored in the URL query string.

The widgets live in the entry script (app.py), so their values survive page switches. On the first run of a
session the values come from ``st.query_params`` (a shared link); after every run the current values are written
back, so the address bar always holds a link to the view on screen: ``?brand=lumen&store=lumen-au&from=2026-09-01``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import streamlit as st

# Query-string parameter -> session-state key of its widget.
PARAMS = {"brand": "f_brand", "market": "f_market", "store": "f_store"}
DATE_PARAMS = ("from", "to")
DATES_KEY = "f_dates"
SCOPE_KEY = "leakwatch_scope"


@dataclass(frozen=True)
class Scope:
    """What the filters select: the stores (all of them, or a subset) and the months of the date range."""

    store_ids: tuple[str, ...]
    all_stores: bool
    start: date | None = None
    end: date | None = None

    @property
    def label(self) -> str:
        """How the selection is named in sentences: 'the portfolio', 'lumen-au', '3 stores'."""
        if self.all_stores:
            return "the portfolio"
        if len(self.store_ids) == 1:
            return self.store_ids[0]
        return f"{len(self.store_ids)} selected stores"

    def month_in_range(self, month: object) -> bool:
        """Whether a month (its first day) overlaps the date range."""
        first = pd.Timestamp(month).date()
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        return (self.start is None or last >= self.start) and (self.end is None or first <= self.end)

    def filter_frame(self, frame: pd.DataFrame, date_column: str | None = None) -> pd.DataFrame:
        """Rows of the selected stores (when ``frame`` has ``store_id``) inside the date range (``date_column``)."""
        out = frame
        if not self.all_stores and "store_id" in out.columns:
            out = out[out["store_id"].isin(self.store_ids)]
        if date_column and date_column in out.columns and (self.start or self.end):
            days = pd.to_datetime(out[date_column], errors="coerce", utc=True).dt.tz_localize(None).dt.normalize()
            keep = days.notna()
            if self.start:
                keep &= days >= pd.Timestamp(self.start)
            if self.end:
                keep &= days <= pd.Timestamp(self.end)
            out = out[keep]
        return out


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _seed_from_query(options: dict[str, list[str]], first: date, last: date) -> None:
    """Put the query-string values into the widgets' session state, once per session (unknown values dropped)."""
    if st.session_state.get("_filters_seeded"):
        return
    st.session_state["_filters_seeded"] = True
    for param, key in PARAMS.items():
        wanted = [v for v in st.query_params.get_all(param) if v in options[param]]
        if wanted:
            st.session_state[key] = wanted
    start = _parse_date(st.query_params.get("from")) or first
    end = _parse_date(st.query_params.get("to")) or last
    start, end = max(first, min(start, last)), min(last, max(end, first))
    st.session_state[DATES_KEY] = (start, end) if start <= end else (first, last)


def _write_query(brands: list[str], markets: list[str], stores: list[str], dates: tuple[date, date] | None,
                 first: date, last: date) -> None:
    """Mirror the filter values in the URL; defaults are left out so a plain link stays plain."""
    wanted: dict[str, str | list[str]] = {}
    for param, values in (("brand", brands), ("market", markets), ("store", stores)):
        if values:
            wanted[param] = values
    if dates and dates[0] != first:
        wanted["from"] = dates[0].isoformat()
    if dates and dates[1] != last:
        wanted["to"] = dates[1].isoformat()
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    normalised = {key: value if isinstance(value, list) else [value] for key, value in wanted.items()}
    if current != normalised:
        st.query_params.from_dict(wanted)


def month_bounds(months: pd.DataFrame) -> tuple[date, date]:
    """First day of the earliest month and last day of the latest month of the ``months`` query."""
    starts = [pd.Timestamp(m).date() for m in months["period_start"]]
    last_start = max(starts)
    return min(starts), (pd.Timestamp(last_start) + pd.offsets.MonthEnd(0)).date()


def sidebar(stores: pd.DataFrame, months: pd.DataFrame) -> Scope:
    """Draw the filters, keep the URL in step and return (and remember) the selected :class:`Scope`."""
    options = {
        "brand": sorted(stores["brand"].dropna().astype(str).unique()),
        "market": sorted(stores["market"].dropna().astype(str).unique()),
        "store": sorted(stores["store_id"].astype(str)),
    }
    first, last = month_bounds(months) if not months.empty else (date.today() - timedelta(days=30), date.today())
    _seed_from_query(options, first, last)
    with st.sidebar:
        st.header("Filters")
        brands = st.multiselect("Brand", options["brand"], key=PARAMS["brand"], placeholder="All brands")
        markets = st.multiselect("Market", options["market"], key=PARAMS["market"], placeholder="All markets")
        narrowed = stores
        if brands:
            narrowed = narrowed[narrowed["brand"].isin(brands)]
        if markets:
            narrowed = narrowed[narrowed["market"].isin(markets)]
        store_options = sorted(narrowed["store_id"].astype(str))
        if PARAMS["store"] in st.session_state:
            st.session_state[PARAMS["store"]] = [s for s in st.session_state[PARAMS["store"]] if s in store_options]
        chosen = st.multiselect("Store", store_options, key=PARAMS["store"], placeholder="All stores")
        picked = st.date_input("Date range", key=DATES_KEY, min_value=first, max_value=last, format="YYYY-MM-DD")
    dates = tuple(picked) if isinstance(picked, list | tuple) else (picked, picked)
    start, end = (dates[0], dates[-1]) if dates and dates[0] else (first, last)
    _write_query(brands, markets, chosen, (start, end), first, last)
    selected = tuple(chosen) if chosen else tuple(store_options)
    scope = Scope(
        store_ids=selected,
        all_stores=set(selected) == set(options["store"]),
        start=start,
        end=end,
    )
    st.session_state[SCOPE_KEY] = scope
    return scope


def current() -> Scope:
    """The scope chosen in the sidebar on this run (every store, no date limit when none was drawn)."""
    scope = st.session_state.get(SCOPE_KEY)
    return scope if isinstance(scope, Scope) else Scope(store_ids=(), all_stores=True)
