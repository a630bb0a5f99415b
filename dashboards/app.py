"""Leakwatch dashboard: where the margin leaks, why, and which fixes move the number.

Entry script of a Streamlit multipage app (``st.navigation``): it draws the global filters in the sidebar
(kept in the URL query string) and runs the selected page from ``dashboards/views/``. Run with
``uv run leakwatch dashboard`` (binds 127.0.0.1). Reads the published ``serving.duckdb``
(``$LEAKWATCH_SERVING_DB``, default ``var/serving.duckdb``) read-only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from dashboards import data, filters
from dashboards.ui import NO_DATA_HINT

logger = logging.getLogger(__name__)

VIEWS = Path(__file__).resolve().parent / "views"
# (file in views/, title, icon, url path); the first one is the home page.
PAGES = [
    ("overview.py", "Overview", ":material/dashboard:", "overview"),
    ("refunds.py", "Refund leakage", ":material/currency_exchange:", "refunds"),
    ("where_it_leaks.py", "Where it leaks", ":material/water_drop:", "where"),
    ("fulfilment.py", "Fulfilment", ":material/local_shipping:", "fulfilment"),
    ("carriers.py", "Carriers & claims", ":material/package_2:", "carriers"),
    ("support.py", "Support quality", ":material/support_agent:", "support"),
    ("chargebacks.py", "Chargebacks", ":material/credit_card_off:", "chargebacks"),
    ("payments.py", "Payments & integrations", ":material/sync_alt:", "payments"),
    ("data_health.py", "Data health", ":material/health_and_safety:", "data-health"),
]


def pages() -> list[st.Page]:
    return [
        st.Page(VIEWS / name, title=title, icon=icon, url_path=url, default=index == 0)
        for index, (name, title, icon, url) in enumerate(PAGES)
    ]


def draw_filters() -> bool:
    """The sidebar filters; False (and a friendly note) when serving.duckdb cannot be read."""
    try:
        filters.sidebar(data.run_query("stores"), data.run_query("months"))
    except data.ServingDbMissing:
        st.info(f"No published data yet: `{data.serving_db_path()}` does not exist. {NO_DATA_HINT}")
        return False
    except data.ServingDbError as exc:
        logger.warning("serving.duckdb unreadable: %s", exc)
        st.warning(str(exc))
        return False
    return True


def main() -> None:
    st.set_page_config(page_title="Leakwatch", page_icon=":material/water_drop:", layout="wide")
    page = st.navigation(pages())
    if draw_filters():
        page.run()
    elif page.title != PAGES[0][1]:
        st.caption(f"{page.title} needs published data.")


if __name__ == "__main__":
    main()
