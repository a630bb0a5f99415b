"""Tests for the simulated Stripe world (sandbox.world.payments) and its ground truth
(sandbox.ground_truth_payments)."""

from __future__ import annotations

import inspect
import json
import re
import time
import typing
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import stripe

from sandbox import ground_truth_payments as gtp
from sandbox.ground_truth import KPI_COLUMNS
from sandbox.world import payments
from sandbox.world.generate import build_world
from sandbox.world.sheets import write_sheets

# Stripe's official example objects, vendored from shared/specs (MIT, see the LICENSE beside it)
FIXTURES = Path(payments.__file__).resolve().parents[1] / "emulators" / "specs" / "stripe" / "fixtures3.json"
SEED = 11


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world() -> Any:
    return build_world("tiny", SEED)


@pytest.fixture(scope="module")
def tables(world: Any) -> dict[str, pd.DataFrame]:
    return payments.simulate(SEED, world)


@pytest.fixture(scope="module")
def clock(world: Any) -> pd.Timestamp:
    return pd.Timestamp(world.meta["as_of"])


@pytest.fixture(scope="module")
def now(tables: dict[str, pd.DataFrame], clock: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return payments.at_clock(tables, clock)


@pytest.fixture(scope="module")
def sheets_dir(world: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sheets(world, tmp_path_factory.mktemp("sheets"))


@pytest.fixture(scope="module")
def fixtures() -> dict[str, Any]:
    if not FIXTURES.exists():
        pytest.skip(f"{FIXTURES} not available")
    return json.loads(FIXTURES.read_text())["resources"]


# --------------------------------------------------------------------------------------------- helpers


def literal_values(cls: type, attr: str) -> set[str]:
    """The Literal values the stripe package declares for `cls.attr`."""
    values: set[str] = set()
    stack = [cls.__annotations__[attr]]
    while stack:
        tp = stack.pop()
        if typing.get_origin(tp) is typing.Literal:
            values.update(typing.get_args(tp))
        else:
            stack.extend(typing.get_args(tp))
    assert values, f"{cls.__name__}.{attr} declares no Literal"
    return values


def documented_values(cls: type, attr: str) -> set[str]:
    """Values listed in backticks in the attribute docstring (for fields the package types as plain str)."""
    source = inspect.getsource(cls)
    indent = " " * (len(source) - len(source.lstrip()) + 4)
    match = re.search(rf"\n{indent}{attr}: [^\n]*\n{indent}\"\"\"(.*?)\"\"\"", source, re.S)
    assert match, f"no docstring for {cls.__name__}.{attr}"
    return set(re.findall(r"`([a-z_0-9]+)`", match.group(1)))


def rows(frame: pd.DataFrame, limit: int = 400) -> list[dict[str, Any]]:
    return frame.head(limit).to_dict("records")


# --------------------------------------------------------------------------------------------- generation


def test_deterministic_and_base_world_untouched(world: Any, tables: dict[str, pd.DataFrame]) -> None:
    before = world.transactions.copy()
    again = payments.simulate(SEED, world)
    assert set(again) == set(tables)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)
    pd.testing.assert_frame_equal(before, world.transactions)
    other = payments.simulate(SEED + 1, world)
    assert not other["charges"]["charge_id"].equals(tables["charges"]["charge_id"])


def test_one_charge_per_shopify_sale(world: Any, tables: dict[str, pd.DataFrame]) -> None:
    sales = world.transactions[world.transactions["kind"] == "SALE"]
    links = tables["shopify_payment_links"]
    sale_links = links[links["kind"] == "SALE"]
    assert set(sale_links["transaction_id"]) == set(sales["transaction_id"])
    linked = sale_links[sale_links["defect"].ne("missing_stripe_charge").fillna(True)]
    assert linked["charge_id"].isin(tables["charges"]["charge_id"]).all()
    shop = sales[["transaction_id", "status", "amount_cents", "created_at"]].rename(
        columns={"status": "shop_status", "amount_cents": "shop_amount", "created_at": "shop_created"})
    charges = tables["charges"][["charge_id", "status", "amount_cents", "created_at"]]
    pairs = linked[["transaction_id", "charge_id", "defect"]].merge(shop, on="transaction_id").merge(
        charges, on="charge_id")
    same = pairs["defect"].isna()
    assert (pairs.loc[same, "amount_cents"] == pairs.loc[same, "shop_amount"]).all()
    assert (pairs.loc[~same, "amount_cents"] != pairs.loc[~same, "shop_amount"]).all()
    status = pairs["status"].map({"succeeded": "SUCCESS", "failed": "FAILURE"})
    assert (status == pairs["shop_status"]).all()
    assert ((pairs["created_at"] - pairs["shop_created"]).abs() <= pd.Timedelta(seconds=5)).all()
    ok = tables["charges"]["status"] == "succeeded"
    assert tables["charges"].loc[ok, "balance_transaction_id"].notna().all()
    assert tables["charges"].loc[~ok, "failure_code"].notna().all()
    shares = tables["charges"]["card_brand"].value_counts(normalize=True)
    assert shares["visa"] > shares["mastercard"] > shares["amex"]


def test_demo_generation_is_fast() -> None:
    world = build_world("demo", 3)
    started = time.perf_counter()
    payments.simulate(3, world)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"demo payments generation took {elapsed:.1f}s"


# --------------------------------------------------------------------------------------------- API shapes


def test_rendered_objects_have_fixture_keys(now: dict[str, pd.DataFrame], fixtures: dict[str, Any]) -> None:
    cases = [
        ("charge", payments.render_charge, now["charges"]),
        ("refund", payments.render_refund, now["stripe_refunds"]),
        ("dispute", payments.render_dispute, now["disputes"]),
        ("balance_transaction", payments.render_balance_transaction, now["balance_transactions"]),
        ("payment_intent", payments.render_payment_intent, now["payment_intents"]),
    ]
    for object_type, render, frame in cases:
        assert len(frame), object_type
        expected = set(fixtures[object_type])
        for row in rows(frame):
            rendered = render(row)
            assert set(rendered) == expected, (object_type, set(rendered) ^ expected)
            assert rendered["object"] == object_type
            json.dumps(rendered)  # plain JSON types only


def test_nested_keys_cover_fixtures(now: dict[str, pd.DataFrame], fixtures: dict[str, Any]) -> None:
    charge = payments.render_charge(rows(now["charges"], 1)[0])
    fixture = fixtures["charge"]
    assert set(fixture["outcome"]) <= set(charge["outcome"])
    assert set(fixture["billing_details"]) <= set(charge["billing_details"])
    assert set(fixture["payment_method_details"]["card"]) <= set(charge["payment_method_details"]["card"])
    dispute = payments.render_dispute(rows(now["disputes"], 1)[0])
    assert set(fixtures["dispute"]["evidence_details"]) <= set(dispute["evidence_details"])
    assert set(fixtures["dispute"]["evidence"]) <= set(dispute["evidence"])
    assert set(fixtures["dispute"]["payment_method_details"]["card"]) <= set(
        dispute["payment_method_details"]["card"])


def test_events_render_with_fixture_keys(now: dict[str, pd.DataFrame], fixtures: dict[str, Any]) -> None:
    event = rows(now["events"], 1)[0]
    charge = now["charges"][now["charges"]["charge_id"] == event["object_id"]]
    rendered = payments.render_event(event, payments.render_charge(rows(charge, 1)[0]))
    assert set(rendered) == set(fixtures["event"])
    types = set(now["events"]["type"])
    assert {"charge.succeeded", "charge.failed", "charge.refunded", "charge.dispute.created"} <= types


def test_enum_values_declared_by_stripe(tables: dict[str, pd.DataFrame], clock: pd.Timestamp) -> None:
    statuses: set[str] = set()
    for days in (-30, 0, 30):
        statuses |= set(payments.at_clock(tables, clock + pd.Timedelta(days=days))["disputes"]["status"])
    assert statuses <= literal_values(stripe.Dispute, "status")
    assert set(tables["disputes"]["reason"]) <= documented_values(stripe.Dispute, "reason")
    assert set(tables["balance_transactions"]["type"]) <= literal_values(stripe.BalanceTransaction, "type")
    assert set(tables["charges"]["status"]) <= literal_values(stripe.Charge, "status")
    assert set(tables["charges"]["outcome_type"]) <= documented_values(stripe.Charge.Outcome, "type")
    assert set(tables["charges"]["outcome_network_status"]) <= documented_values(stripe.Charge.Outcome,
                                                                                 "network_status")
    assert set(tables["charges"]["outcome_risk_level"]) <= documented_values(stripe.Charge.Outcome, "risk_level")
    assert set(tables["stripe_refunds"]["reason"]) <= literal_values(stripe.Refund, "reason")
    assert set(tables["stripe_refunds"]["status"]) <= documented_values(stripe.Refund, "status")
    pis = payments.at_clock(tables, clock)["payment_intents"]
    assert set(pis["status"]) <= literal_values(stripe.PaymentIntent, "status")
    codes = {"card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error",
             "do_not_honor"}
    assert set(tables["charges"]["failure_code"].dropna()) <= codes


# --------------------------------------------------------------------------------------------- planted defects


def test_planted_defects_present(tables: dict[str, pd.DataFrame], now: dict[str, pd.DataFrame],
                                 clock: pd.Timestamp) -> None:
    link_defects = set(tables["shopify_payment_links"]["defect"].dropna())
    assert {"missing_stripe_charge", "amount_mismatch", "missing_stripe_refund", "late_stripe_refund"} <= link_defects
    assert (tables["charges"]["defect"] == "orphan_charge").any()
    assert (tables["stripe_refunds"]["defect"] == "orphan_stripe_refund").any()
    late = tables["stripe_refunds"][tables["stripe_refunds"]["defect"] == "late_stripe_refund"]
    links = tables["shopify_payment_links"].set_index("payment_id")
    assert len(late)
    disputes = now["disputes"]
    at_risk = disputes[(disputes["status"] == "needs_response") & (disputes["evidence_due_by"] > clock)
                       & (disputes["evidence_due_by"] <= clock + pd.Timedelta(hours=72))]
    assert len(at_risk) >= payments.MIN_PLANTED
    missed = disputes[(disputes["evidence_due_by"] <= clock) & ~disputes["has_evidence"]]
    assert len(missed) >= payments.MIN_PLANTED
    assert links.index.is_unique


def test_disputes_follow_refund_signals(world: Any, tables: dict[str, pd.DataFrame]) -> None:
    refunded = set(world.refunds["order_id"])
    disputes = tables["disputes"]
    charges = tables["charges"]
    ok = charges[(charges["status"] == "succeeded") & charges["order_id"].notna()]
    rate_refunded = disputes["order_id"].isin(refunded).sum() / max(1, ok["order_id"].isin(refunded).sum())
    rate_other = (~disputes["order_id"].isin(refunded)).sum() / max(1, (~ok["order_id"].isin(refunded)).sum())
    assert rate_refunded > 2 * rate_other


# --------------------------------------------------------------------------------------------- clock


def test_at_clock_hides_future(tables: dict[str, pd.DataFrame], clock: pd.Timestamp) -> None:
    for days in (-20, 0, 10):
        as_of = clock + pd.Timedelta(days=days)
        state = payments.at_clock(tables, as_of)
        for name in ("charges", "stripe_refunds", "disputes", "balance_transactions", "payment_intents", "events"):
            assert (state[name]["created_at"] <= as_of).all(), name
        disputes = state["disputes"]
        future_submission = disputes["evidence_submitted_at"] > as_of
        assert not disputes.loc[future_submission.fillna(False), "has_evidence"].any()
        visible_refunds = state["stripe_refunds"].groupby("charge_id")["amount_cents"].sum()
        charges = state["charges"].set_index("charge_id")
        assert (charges["amount_refunded_cents"] == charges.index.map(visible_refunds).fillna(0)).all()
        assert set(charges.index[charges["disputed"]]) == set(disputes["charge_id"])


def _one_dispute(**overrides: Any) -> pd.DataFrame:
    base = {
        "dispute_id": "du_x", "is_inquiry": False, "final_status": "won",
        "created_at": pd.Timestamp("2026-03-01T10:00Z"), "evidence_due_by": pd.Timestamp("2026-03-15T23:59:59Z"),
        "evidence_submitted_at": pd.Timestamp("2026-03-10T12:00Z"), "closed_at": pd.Timestamp("2026-04-20T08:00Z"),
    }
    base.update(overrides)
    frame = pd.DataFrame([base])
    for column in ("created_at", "evidence_due_by", "evidence_submitted_at", "closed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


@pytest.mark.parametrize(
    ("overrides", "clock", "status", "has_evidence"),
    [
        ({}, "2026-03-01T10:00Z", "needs_response", False),
        ({}, "2026-03-10T11:59Z", "needs_response", False),
        ({}, "2026-03-10T12:00Z", "under_review", True),
        ({}, "2026-04-20T07:59Z", "under_review", True),
        ({}, "2026-04-20T08:00Z", "won", True),
        ({"evidence_submitted_at": pd.NaT, "final_status": "lost"}, "2026-03-20T00:00Z", "needs_response", False),
        ({"evidence_submitted_at": pd.NaT, "final_status": "lost"}, "2026-05-01T00:00Z", "lost", False),
        ({"is_inquiry": True, "final_status": "warning_closed"}, "2026-03-02T00:00Z", "warning_needs_response",
         False),
        ({"is_inquiry": True, "final_status": "warning_closed"}, "2026-03-11T00:00Z", "warning_under_review", True),
        ({"is_inquiry": True, "final_status": "warning_closed"}, "2026-04-21T00:00Z", "warning_closed", True),
    ],
)
def test_dispute_status_timeline(overrides: dict[str, Any], clock: str, status: str, has_evidence: bool) -> None:
    frame = _one_dispute(**overrides)
    state = payments.dispute_state(frame, pd.Timestamp(clock))
    assert state.loc[0, "status"] == status
    assert bool(state.loc[0, "has_evidence"]) is has_evidence
    assert int(state.loc[0, "submission_count"]) == int(has_evidence)
    assert gtp._dispute_status(frame, pd.Timestamp(clock)).iloc[0] == status


def test_generated_timelines_consistent(tables: dict[str, pd.DataFrame], clock: pd.Timestamp) -> None:
    disputes = tables["disputes"]
    assert (disputes["evidence_due_by"] > disputes["created_at"]).all()
    assert (disputes["closed_at"] > disputes["created_at"]).all()
    for days in (-40, -5, 0, 5, 40):
        as_of = clock + pd.Timedelta(days=days)
        visible = disputes[disputes["created_at"] <= as_of]
        ours = payments.dispute_state(visible, as_of)["status"].tolist()
        assert ours == gtp._dispute_status(visible, as_of).tolist()


# --------------------------------------------------------------------------------------------- ground truth


def test_kpis_shape_and_planted_counts(world: Any, tables: dict[str, pd.DataFrame], sheets_dir: Path) -> None:
    kpis = gtp.compute_kpis(world, tables, sheets_dir)
    assert list(kpis.columns) == KPI_COLUMNS
    rates = kpis[kpis["metric"].str.endswith(("_rate", "_share", "_visa", "_mastercard"))]["value"].dropna()
    assert ((rates >= 0) & (rates <= 1)).all()
    portfolio = kpis[kpis["store_id"].isna()]
    asof = portfolio[portfolio["grain"] == "asof"].set_index(["metric", "dimension_value"])["value"]
    assert asof[("disputes_at_risk", None)] >= payments.MIN_PLANTED
    assert asof[("disputes_missed", None)] >= payments.MIN_PLANTED
    for issue_type in gtp.ISSUE_TYPES:
        assert asof[("integration_issue_count", issue_type)] >= 1, issue_type
    store_sum = kpis[(kpis["metric"] == "dispute_count") & kpis["store_id"].notna()]["value"].sum()
    assert store_sum == portfolio[portfolio["metric"] == "dispute_count"]["value"].sum()


def test_leak_events_are_lost_disputes(world: Any, tables: dict[str, pd.DataFrame], sheets_dir: Path,
                                       now: dict[str, pd.DataFrame]) -> None:
    events = gtp.leak_events_chargebacks(world, tables, sheets_dir)
    lost = now["disputes"][now["disputes"]["status"] == "lost"]
    assert set(events["dispute_id"]) == set(lost["dispute_id"])
    mapping = {"fraudulent": "fraud", "credit_not_processed": "refund_process_failure",
               "product_unacceptable": "not_as_described", "duplicate": "duplicate_charge"}
    for rec in events.itertuples():
        if rec.reason in mapping:
            assert rec.cause == mapping[rec.reason]
        assert rec.fees == payments.DISPUTE_FEE_CENTS / 100


STORES = pd.DataFrame([{"store_id": "s-us", "brand": "B", "market": "US", "shop_domain": "s-us.myshopify.com",
                        "timezone": "America/New_York", "currency": "USD"}])
SHEET_FILES = {
    "sku_catalog.csv": "sku,product_title,supplier_id,unit_cogs,cogs_currency\n",
    "refund_causes.csv": "code,label,owner,preventable_default\nunknown,Unknown,support,false\n"
                         "fraud,F,payments,false\n",
    "fx_rates.csv": "date,currency,rate_to_usd\n2025-12-01,USD,1\n",
}


def _hand_built(tmp_path: Path) -> tuple[Any, dict[str, pd.DataFrame], Path]:
    """Jan: 4 Visa + 2 Mastercard succeeded, 1 Visa failed; Feb: 2 Visa + 5 Mastercard succeeded; two
    disputes created in Feb on January charges (one Visa, one Mastercard)."""
    specs = [("2026-01-10", "visa", "succeeded")] * 4 + [("2026-01-12", "mastercard", "succeeded")] * 2
    specs += [("2026-01-13", "visa", "failed")]
    specs += [("2026-02-10", "visa", "succeeded")] * 2 + [("2026-02-11", "mastercard", "succeeded")] * 5
    charges = pd.DataFrame([{
        "charge_id": f"ch_{i}", "account_id": "acct_b", "created_at": pd.Timestamp(f"{day}T15:00Z"),
        "status": status, "card_brand": brand, "amount_cents": 1000, "currency": "USD",
        "metadata_shopify_order": f"#{1000 + i}", "metadata_shopify_shop": "s-us.myshopify.com",
    } for i, (day, brand, status) in enumerate(specs)])
    orders = pd.DataFrame({"order_id": range(len(specs)), "store_id": "s-us",
                           "name": [f"#{1000 + i}" for i in range(len(specs))],
                           "created_at": charges["created_at"]})
    tx = pd.DataFrame({"transaction_id": range(len(specs)), "order_id": range(len(specs)), "kind": "SALE",
                       "status": charges["status"].map({"succeeded": "SUCCESS", "failed": "FAILURE"}),
                       "amount_cents": 1000, "currency": "USD", "created_at": charges["created_at"]})
    disputes = pd.DataFrame([{
        "dispute_id": f"du_{c}", "charge_id": f"ch_{c}", "created_at": pd.Timestamp("2026-02-20T15:00Z"),
        "is_inquiry": False, "evidence_due_by": pd.Timestamp("2026-03-01T23:59:59Z"),
        "evidence_submitted_at": pd.NaT, "closed_at": pd.Timestamp("2026-03-05T00:00Z"), "final_status": "lost",
        "reason": "fraudulent", "amount_cents": 1000, "currency": "USD",
    } for c in (0, 4)])
    tables = {
        "stripe_accounts": pd.DataFrame([{"account_id": "acct_b", "brand": "B"}]),
        "charges": charges,
        "disputes": disputes,
        "balance_transactions": pd.DataFrame({"created_at": disputes["created_at"],
                                              "dispute_id": disputes["dispute_id"], "fee_cents": 1500}),
        "stripe_refunds": pd.DataFrame({"refund_id": pd.Series(dtype=str), "charge_id": pd.Series(dtype=str),
                                        "created_at": pd.Series(dtype="datetime64[ns, UTC]")}),
        "shopify_payment_links": pd.DataFrame({"transaction_id": range(len(specs)),
                                               "payment_id": charges["charge_id"]}),
    }
    world = SimpleNamespace(stores=STORES, orders=orders, transactions=tx,
                            meta={"as_of": "2026-02-25T00:00:00Z", "reporting_currency": "USD"})
    for name, text in SHEET_FILES.items():
        (tmp_path / name).write_text(text)
    return world, tables, tmp_path


def test_visa_same_month_mastercard_previous_month(tmp_path: Path) -> None:
    world, tables, sheets_dir = _hand_built(tmp_path)
    kpis = gtp.compute_kpis(world, tables, sheets_dir)
    store = kpis[(kpis["store_id"] == "s-us") & kpis["dimension"].isna()]
    value = store.set_index(["metric", "period_start"])["value"]
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)
    assert value[("dispute_rate_visa", feb)] == pytest.approx(1 / 2)  # 1 Visa dispute / 2 Feb Visa charges
    assert value[("dispute_rate_mastercard", feb)] == pytest.approx(1 / 2)  # 1 MC dispute / 2 Jan MC charges
    assert value[("dispute_rate_visa", jan)] == 0
    assert value[("dispute_rate_mastercard", jan)] is None  # no December charges
    assert value[("auth_success_rate", jan)] == pytest.approx(6 / 7)
    assert value[("dispute_count", feb)] == 2
    assert value[("chargeback_cost", feb)] is not None and value[("chargeback_cost", feb)] == pytest.approx(30.0)
    assert value[("dispute_win_rate", feb)] is None  # both still open on Feb 25
    asof = kpis[(kpis["grain"] == "asof") & (kpis["store_id"] == "s-us")].set_index(["metric", "dimension_value"])
    assert asof.loc[("disputes_at_risk", None), "value"] == 0  # due Mar 1, more than 72 h away
    later = gtp.compute_kpis(world, tables, sheets_dir, as_of=pd.Timestamp("2026-02-27T12:00Z"))
    later = later[(later["grain"] == "asof") & (later["store_id"] == "s-us")].set_index(["metric", "dimension_value"])
    assert later.loc[("disputes_at_risk", None), "value"] == 2
    closed = gtp.compute_kpis(world, tables, sheets_dir, as_of=pd.Timestamp("2026-03-06T00:00Z"))
    closed = closed[(closed["store_id"] == "s-us") & closed["dimension"].isna()].set_index(["metric", "period_start"])
    assert closed.loc[("chargeback_cost", feb), "value"] == pytest.approx(2 * 10.0 + 30.0)
    assert closed.loc[("dispute_win_rate", feb), "value"] == 0
    missed = gtp.compute_kpis(world, tables, sheets_dir, as_of=pd.Timestamp("2026-03-06T00:00Z"))
    missed = missed[(missed["grain"] == "asof") & (missed["store_id"] == "s-us")]
    assert missed.set_index("metric").loc["disputes_missed", "value"] == 2


def test_preventable_dispute_share_uses_every_condition(tmp_path: Path) -> None:
    """§6 any one of: credit_not_processed; product_not_received and (missed SLA | no tracking | never delivered);
    a first reply overdue (48 business hours) before the dispute; product_unacceptable after a refund request."""
    world, tables, sheets_dir = _hand_built(tmp_path)
    cases = {  # charge index -> (reason, fulfilment facts (within 48h, tracking, delivered), support row)
        0: ("credit_not_processed", (True, True, True), None),
        1: ("product_not_received", (False, True, True), None),
        2: ("product_not_received", (True, False, False), None),
        3: ("product_not_received", (True, True, False), None),
        4: ("product_not_received", (True, True, True), None),  # not preventable
        5: ("fraudulent", (True, True, True), ("2026-02-10T15:00Z", None, None)),  # unanswered, due before
        6: ("fraudulent", (True, True, True), ("2026-02-10T15:00Z", "2026-02-09T15:00Z", None)),  # answered in time
        7: ("fraudulent", (True, True, True), ("2026-02-21T15:00Z", None, None)),  # due after the dispute
        8: ("product_unacceptable", (True, True, True), ("2026-03-01T15:00Z", "2026-02-02T15:00Z",
                                                         "2026-02-01T15:00Z")),
        9: ("product_unacceptable", (True, True, True), ("2026-03-01T15:00Z", "2026-02-22T15:00Z",
                                                         "2026-02-22T15:00Z")),  # request after the dispute
    }
    template = tables["disputes"].iloc[0]
    tables["disputes"] = pd.DataFrame([{**template.to_dict(), "dispute_id": f"du_{c}", "charge_id": f"ch_{c}",
                                        "reason": reason} for c, (reason, _, _) in cases.items()])
    tables["balance_transactions"] = tables["balance_transactions"].iloc[:0]
    fulfilment = pd.DataFrame([{"order_id": c, "shipped_within_48h": f[0], "has_tracking": f[1],
                                "delivered_at": pd.Timestamp("2026-01-20T00:00Z") if f[2] else pd.NaT}
                               for c, (_, f, _) in cases.items()])
    support = pd.DataFrame([{"order_id": c, "first_reply_due_at": pd.Timestamp(s[0]),
                             "first_reply_at": pd.Timestamp(s[1]) if s[1] else pd.NaT,
                             "refund_requested_at": pd.Timestamp(s[2]) if s[2] else pd.NaT}
                            for c, (_, _, s) in cases.items() if s])
    kpis = gtp.compute_kpis(world, tables, sheets_dir, fulfilment=fulfilment, support=support)
    share = kpis[(kpis["metric"] == "preventable_dispute_share") & kpis["store_id"].isna()
                 & (kpis["period_start"] == date(2026, 2, 1))]["value"]
    assert share.tolist() == [pytest.approx(6 / 10)]  # cases 0, 1, 2, 3, 5, 8
    alone = gtp.compute_kpis(world, tables, sheets_dir)
    alone = alone[(alone["metric"] == "preventable_dispute_share") & alone["store_id"].isna()
                  & (alone["period_start"] == date(2026, 2, 1))]["value"]
    assert alone.tolist() == [pytest.approx(1 / 10)]  # without the inputs only credit_not_processed


def test_preventability_inputs_from_the_true_world(tmp_path: Path) -> None:
    """Due = created + 48 business hours of the order's store (whole business days: at least 48 calendar hours,
    more over a weekend); tracking and delivery read off the world's fulfilments at its clock."""
    from sandbox.world import world_at
    from sandbox.world.generate import build_world as build

    base = build("tiny", SEED)
    sheets = write_sheets(base, tmp_path)
    world = world_at(base)
    fulfilment, support = gtp.preventability_inputs(world, sheets)
    assert len(fulfilment) == len(world.orders) and len(support) > 0
    waited = (support["first_reply_due_at"] - support["order_id"].map(
        world.areas["support"]["conversations"].dropna(subset=["order_id"]).groupby("order_id")["created_at"].min()))
    assert (waited >= pd.Timedelta(hours=48)).all()
    assert (waited > pd.Timedelta(hours=48)).any()  # a weekend in between
    fl = world.areas["fulfilment"]["fulfillments"]
    assert set(fulfilment.loc[fulfilment["has_tracking"], "order_id"]) == set(fl["order_id"])
    decided = fulfilment["shipped_within_48h"].dropna()
    assert decided.isin([True, False]).all() and (~decided.astype(bool)).any() and decided.astype(bool).any()
    assert fulfilment["delivered_at"].notna().sum() > 0
