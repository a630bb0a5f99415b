"""The home page, run headless with Streamlit's AppTest against a fixture serving.duckdb (see conftest.py).

Expected strings are computed here from the fixture's raw figures and written the way the page should write them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Metric

from dashboards import data

if TYPE_CHECKING:
    from conftest import ServingDb

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
TIMEOUT_S = 60


def run_app() -> AppTest:
    """Run the home page once and return the test handle."""
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()


def plain(markdown: str) -> str:
    """Markdown as the reader sees it: no heading or bold markers, no escapes."""
    return markdown.removeprefix("### ").replace("**", "").replace("\\$", "$")


def pct(ratio: float) -> str:
    """A ratio written the way the page writes it."""
    return f"{ratio * 100:.1f} %"


def usd(amount: float) -> str:
    """A USD amount written the way the page writes it (whole dollars)."""
    return f"US$ {amount:,.0f}"


def month_words(month: date) -> str:
    """'October 2026'."""
    return month.strftime("%B %Y")


def tiles(at: AppTest) -> dict[str, Metric]:
    """The st.metric elements of the page by label."""
    return {metric.label: metric for metric in at.metric}


def headline_text(at: AppTest) -> str:
    """The plain text of the one-sentence summary."""
    sentences = [plain(md.value) for md in at.markdown if "of profit across the portfolio" in md.value]
    assert len(sentences) == 1, [md.value for md in at.markdown]
    return sentences[0]


def top_row(db: ServingDb, month: date) -> tuple:
    """The fixture's store x cause row with the largest refund cost in ``month``."""
    return max(db.rows(month), key=lambda row: row[3])


def test_page_runs_and_states_the_latest_month(serving_db: ServingDb) -> None:
    db, latest, previous = serving_db, serving_db.latest, serving_db.previous

    at = run_app()

    assert not at.exception
    cost, profit = db.refund_cost(latest), db.profit(latest)
    store, _, cause, top_cost, _, _ = top_row(db, latest)
    expected = (
        f"In {month_words(latest)} refunds cost {pct(cost / profit)} of profit across the portfolio, "
        f"above the 5 % target by {usd(cost - 0.05 * profit)} and up from "
        f"{pct(db.refund_cost(previous) / db.profit(previous))} in {month_words(previous)}; "
        f"the largest cause is {db.cause_labels[cause]} at {store} ({usd(top_cost)})."
    )
    assert headline_text(at) == expected
    # What the fixture implies, spelled out once so a broken fixture cannot hide a broken page.
    assert "7.3 % of profit" in expected and "Supplier defect at lumen-au (US$ 4,210)" in expected


def test_tiles_show_the_latest_month_against_targets(serving_db: ServingDb) -> None:
    db, latest, previous = serving_db, serving_db.latest, serving_db.previous

    at = run_app()

    cost, profit = db.refund_cost(latest), db.profit(latest)
    pct_tile = tiles(at)["Refund cost % of profit"]
    assert pct_tile.value == pct(cost / profit)
    assert pct_tile.delta == f"{(cost / profit - 0.05) * 100:+.1f} pp vs 5 % target"
    assert pct_tile.proto.color == MetricProto.MetricColor.RED

    cost_tile = tiles(at)["Refund cost (USD)"]
    assert cost_tile.value == usd(cost)
    assert cost_tile.delta == f"+{usd(cost - db.refund_cost(previous))} vs {month_words(previous)}"

    preventable = sum(row[4] for row in db.rows(latest))
    assert tiles(at)["Preventable share"].value == pct(preventable / cost)

    known = sum(row[3] for row in db.rows(latest) if row[2] != "unknown")
    coverage_tile = tiles(at)["Cause coverage"]
    assert coverage_tile.value == pct(known / cost)
    assert coverage_tile.delta == f"{(known / cost - 0.95) * 100:+.1f} pp vs 95 % target"
    assert coverage_tile.proto.color == MetricProto.MetricColor.GREEN  # direction 'min', above target


def test_month_selector_defaults_to_latest_and_switches(serving_db: ServingDb) -> None:
    db, latest, previous = serving_db, serving_db.latest, serving_db.previous
    at = run_app()
    assert at.selectbox(key="month").value == latest

    at.selectbox(key="month").set_value(previous).run()

    assert not at.exception
    pct_tile = tiles(at)["Refund cost % of profit"]
    assert pct_tile.value == pct(db.refund_cost(previous) / db.profit(previous))
    assert pct_tile.proto.color == MetricProto.MetricColor.GREEN
    assert len(at.dataframe[0].value) == len(db.rows(previous))
    assert headline_text(at).startswith(f"In {month_words(latest)}")  # the sentence stays on the latest month


def test_drilldown_table_filters_by_store(serving_db: ServingDb) -> None:
    db, latest = serving_db, serving_db.latest
    at = run_app()
    table = at.dataframe[0].value
    assert table["refund_cost"].tolist() == sorted((row[3] for row in db.rows(latest)), reverse=True)

    at.selectbox(key="drill_store").set_value("north-us").run()

    table = at.dataframe[0].value
    assert set(table["store_id"]) == {"north-us"}
    assert len(table) == len(db.rows(latest, "north-us"))
    assert at.get("download_button")[0].label == "Download CSV"


def test_partial_month_headline_uses_the_last_complete_month(partial_serving_db: ServingDb) -> None:
    db, latest, previous = partial_serving_db, partial_serving_db.latest, partial_serving_db.previous

    at = run_app()

    assert not at.exception
    store, _, cause, top_cost, _, _ = top_row(db, previous)
    expected = (
        f"In {month_words(previous)} refunds cost {pct(db.refund_cost(previous) / db.profit(previous))} of "
        f"profit across the portfolio, below the 5 % target; "
        f"the largest cause is {db.cause_labels[cause]} at {store} ({usd(top_cost)})."
    )
    assert headline_text(at) == expected
    assert at.selectbox(key="month").value == latest
    assert any("not over yet" in caption.value for caption in at.caption)
    assert tiles(at)["Refund cost % of profit"].value == pct(db.refund_cost(latest) / db.profit(latest))


def test_missing_file_shows_friendly_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "nowhere" / "serving.duckdb"))

    at = run_app()

    assert not at.exception
    assert len(at.info) == 1
    message = at.info[0].value
    assert "make demo" in message and "leakwatch run" in message
    assert not at.metric


def test_unreadable_file_shows_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "serving.duckdb"
    broken.write_bytes(b"not a duckdb file" * 512)
    monkeypatch.setenv(data.ENV_VAR, str(broken))

    at = run_app()

    assert not at.exception
    assert len(at.warning) == 1 and "could not be read" in at.warning[0].value


def test_hostile_store_id_is_bound_not_interpolated(serving_db: ServingDb) -> None:
    hostile = "x' or '1'='1"

    rows = data.run_query("leakage_by_cause", {"period_start": serving_db.latest, "store_id": hostile})

    assert rows.empty
    honest = data.run_query("leakage_by_cause", {"period_start": serving_db.latest, "store_id": "lumen-au"})
    assert len(honest) == len(serving_db.rows(serving_db.latest, "lumen-au"))
