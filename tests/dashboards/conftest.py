"""A small serving.duckdb for the dashboard tests: 2 stores, 2 months (Sep and Oct 2026), a few causes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import streamlit as st

from dashboards import data

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
COMPLETE_AS_OF = datetime(2026, 11, 2, 3, 0)
MID_OCTOBER_AS_OF = datetime(2026, 10, 15, 3, 0)

STORES = [
    ("lumen-au", "lumen", "AU", "AUD", "Australia/Sydney"),
    ("north-us", "north", "US", "USD", "America/New_York"),
]
CAUSES = {
    "supplier_defect": ("Supplier defect", "supplier"),
    "lost_in_transit": ("Lost in transit", "carrier"),
    "size_fit": ("Size or fit", "listing"),
    "unknown": ("Unknown", "support"),
}
# (store_id, month) -> gross profit in USD
GROSS_PROFIT = {
    ("lumen-au", SEP): 40000.00,
    ("north-us", SEP): 35000.00,
    ("lumen-au", OCT): 60000.00,
    ("north-us", OCT): 45000.00,
}
# (store_id, month, cause, refund_cost, preventable_refund_cost, refund_count)
LEAKAGE = [
    ("lumen-au", SEP, "supplier_defect", 1500.00, 1500.00, 12),
    ("lumen-au", SEP, "lost_in_transit", 600.00, 600.00, 5),
    ("lumen-au", SEP, "size_fit", 300.00, 0.00, 4),
    ("north-us", SEP, "supplier_defect", 900.00, 900.00, 7),
    ("north-us", SEP, "unknown", 200.00, 0.00, 2),
    ("lumen-au", OCT, "supplier_defect", 4210.40, 4210.40, 31),
    ("lumen-au", OCT, "lost_in_transit", 1200.00, 1200.00, 9),
    ("lumen-au", OCT, "unknown", 350.25, 0.00, 3),
    ("north-us", OCT, "supplier_defect", 800.00, 800.00, 6),
    ("north-us", OCT, "size_fit", 650.10, 0.00, 8),
    ("north-us", OCT, "lost_in_transit", 450.00, 450.00, 4),
]
TAGGED_SHARE = 0.6
TARGETS = [("refund_cost_pct_of_profit", 0.05, "max"), ("cause_coverage", 0.95, "min")]

SCHEMA = """
create schema marts;
create table marts.kpis(metric varchar, store_id varchar, period_start date, grain varchar, dimension varchar,
    dimension_value varchar, value double, as_of timestamp);
create table marts.refund_leakage_by_cause(store_id varchar, brand varchar, market varchar, period_start date,
    cause varchar, cause_label varchar, cause_owner varchar, preventable_refund_cost decimal(18,2),
    refund_cost decimal(18,2), gross_profit decimal(18,2), refund_cost_pct_of_profit double,
    refund_count bigint, reporting_currency varchar, as_of timestamp);
create table marts.kpi_targets(metric varchar, target double, direction varchar);
create table marts.stores(store_id varchar, brand varchar, market varchar, currency varchar, timezone varchar);
"""


@dataclass
class ServingDb:
    """A fixture serving.duckdb and the raw figures it was built from."""

    path: Path
    as_of: datetime
    latest: date = OCT
    previous: date = SEP
    cause_labels: dict[str, str] = field(default_factory=lambda: {code: v[0] for code, v in CAUSES.items()})
    leakage: list[tuple] = field(default_factory=lambda: list(LEAKAGE))
    gross_profit: dict[tuple[str, date], float] = field(default_factory=lambda: dict(GROSS_PROFIT))

    def rows(self, month: date, store_id: str | None = None) -> list[tuple]:
        """Leakage rows of a month (optionally one store)."""
        return [r for r in self.leakage if r[1] == month and (store_id is None or r[0] == store_id)]

    def refund_cost(self, month: date, store_id: str | None = None) -> float:
        """Total refund cost of a month."""
        return sum(r[3] for r in self.rows(month, store_id))

    def profit(self, month: date, store_id: str | None = None) -> float:
        """Gross profit of a month."""
        return sum(v for (s, m), v in self.gross_profit.items() if m == month and store_id in (None, s))


def _kpi_rows(db: ServingDb, store_id: str | None, month: date) -> list[tuple]:
    """The month-grain KPI rows of one store (or the portfolio when store_id is None) and month."""
    rows = db.rows(month, store_id)
    cost, profit = db.refund_cost(month, store_id), db.profit(month, store_id)
    preventable = sum(r[4] for r in rows)
    known = sum(r[3] for r in rows if r[2] != "unknown")
    values = {
        "orders_paid": 1000.0,
        "net_revenue": profit * 3,
        "gross_profit": profit,
        "refund_cost": cost,
        "refund_cost_pct_of_profit": cost / profit,
        "preventable_refund_cost": preventable,
        "preventable_share": preventable / cost,
        "cause_coverage": known / cost,
        "tagged_share": TAGGED_SHARE,
    }
    out = [(metric, store_id, month, "month", None, None, value) for metric, value in values.items()]
    for cause in CAUSES:
        cause_cost = sum(r[3] for r in rows if r[2] == cause)
        out.append(("refund_cost", store_id, month, "month", "cause", cause, cause_cost))
        out.append(("refund_cost_pct_of_profit", store_id, month, "month", "cause", cause, cause_cost / profit))
    return out


def write_serving_db(db: ServingDb) -> None:
    """Create the marts tables of ``db`` at ``db.path`` and fill them."""
    stores = {s[0]: s for s in STORES}
    with duckdb.connect(str(db.path)) as con:
        con.execute(SCHEMA)
        con.executemany("insert into marts.stores values (?, ?, ?, ?, ?)", STORES)
        con.executemany("insert into marts.kpi_targets values (?, ?, ?)", TARGETS)
        kpis = [
            row for month in (SEP, OCT) for sid in (None, "lumen-au", "north-us") for row in _kpi_rows(db, sid, month)
        ]
        # A point-in-time row that must not show up as a month.
        kpis.append(("data_completeness", None, db.as_of.date(), "asof", None, None, 1.0))
        con.executemany("insert into marts.kpis values (?, ?, ?, ?, ?, ?, ?, ?)", [(*k, db.as_of) for k in kpis])
        leakage = []
        for store_id, month, cause, cost, preventable, count in db.leakage:
            profit = db.gross_profit[(store_id, month)]
            _, brand, market, _, _ = stores[store_id]
            label, owner = CAUSES[cause]
            leakage.append(
                (
                    store_id,
                    brand,
                    market,
                    month,
                    cause,
                    label,
                    owner,
                    preventable,
                    cost,
                    profit,
                    cost / profit,
                    count,
                    "USD",
                    db.as_of,
                )
            )
        con.executemany(
            "insert into marts.refund_leakage_by_cause values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", leakage
        )


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start every test with an empty query cache and no retry delay."""
    monkeypatch.setattr(data, "RETRY_DELAY_S", 0.0)
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def make_serving_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ServingDb]:
    """Factory: build a fixture serving.duckdb in tmp_path and point LEAKWATCH_SERVING_DB at it."""

    def make(as_of: datetime = COMPLETE_AS_OF, name: str = "serving.duckdb") -> ServingDb:
        db = ServingDb(tmp_path / name, as_of)
        write_serving_db(db)
        monkeypatch.setenv(data.ENV_VAR, str(db.path))
        return db

    return make


@pytest.fixture
def serving_db(make_serving_db: Callable[..., ServingDb]) -> ServingDb:
    """A fixture serving.duckdb whose latest month (October 2026) is complete."""
    return make_serving_db()


@pytest.fixture
def partial_serving_db(make_serving_db: Callable[..., ServingDb]) -> ServingDb:
    """A fixture serving.duckdb published mid-October 2026: October is month to date."""
    return make_serving_db(as_of=MID_OCTOBER_AS_OF)


@dataclass
class Published:
    """A private var/ folder holding a real `leakwatch run` of the tiny sandbox preset."""

    leakwatch: object  # tests.conftest.Leakwatch

    @property
    def serving(self) -> Path:
        return self.leakwatch.serving

    @property
    def warehouse(self) -> Path:
        return self.leakwatch.var_dir / "warehouse.duckdb"


@pytest.fixture(scope="session")
def published_tiny(published_tiny) -> Published:  # noqa: ANN001 - the root conftest's run of the same name
    """The session's tiny run (tests/conftest.py), shared with the end-to-end tests."""
    return Published(published_tiny)


@pytest.fixture
def real_serving_db(published_tiny: Published, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the dashboard at the tiny run's serving.duckdb."""
    monkeypatch.setenv(data.ENV_VAR, str(published_tiny.serving))
    return published_tiny.serving
