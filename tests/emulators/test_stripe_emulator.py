"""The Stripe v1 emulator against a tiny generated sandbox (expectations computed from the payments tables)."""

from __future__ import annotations

import json
import re
import shutil
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import stripe

from sandbox.build import advance, generate
from sandbox.emulators.stripe import create_app
from sandbox.world import load_world, world_at
from tests.emulators.helpers import serve

SEED = 7
KEY = "sk_test_sandbox_lumen"
OTHER_KEY = "sk_test_sandbox_otherbrand"
OTHER_ACCOUNT = "acct_otherbrand000000"
OTHER_STORE = "lumen-us"  # moved to a second account in the two-account copy of the world
# Stripe's official example objects, vendored from shared/specs (MIT, see the LICENSE beside it)
FIXTURES = Path(__file__).resolve().parents[2] / "sandbox" / "emulators" / "specs" / "stripe" / "fixtures3.json"
RESOURCES = ("charges", "refunds", "disputes", "balance_transactions", "payment_intents", "events")
TABLES = {"charges": "charges", "refunds": "stripe_refunds", "disputes": "disputes",
          "balance_transactions": "balance_transactions", "payment_intents": "payment_intents", "events": "events"}
ID_COLUMNS = {"charges": "charge_id", "refunds": "refund_id", "disputes": "dispute_id",
              "balance_transactions": "balance_transaction_id", "payment_intents": "payment_intent_id",
              "events": "event_id"}
# Fields the package types as a plain `str`: the values Stripe documents for them.
DOCUMENTED_ENUMS = {
    ("Outcome", "type"): {"authorized", "manual_review", "issuer_declined", "blocked", "invalid"},
    ("Dispute", "reason"): {"bank_cannot_process", "check_returned", "credit_not_processed", "customer_initiated",
                            "debit_not_authorized", "duplicate", "fraudulent", "general",
                            "incorrect_account_details", "insufficient_funds", "noncompliant",
                            "product_not_received", "product_unacceptable", "subscription_canceled",
                            "unrecognized"},
}


# --------------------------------------------------------------------------------------------- fixtures, helpers




@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full tiny sandbox (world, sheets, config), generated once and never modified."""
    out = tmp_path_factory.mktemp("stripe_tiny")
    generate("tiny", SEED, out)
    return out


@pytest.fixture(scope="module")
def state(sandbox_dir: Path) -> dict[str, pd.DataFrame]:
    """The payments area at the clock, per the contract (`world_at`)."""
    return world_at(load_world(sandbox_dir / "world")).areas["payments"]


@pytest.fixture(scope="module")
def clock(sandbox_dir: Path) -> pd.Timestamp:
    return pd.Timestamp(json.loads((sandbox_dir / "world" / "meta.json").read_text())["as_of"])


@pytest.fixture(scope="module")
def base_url(sandbox_dir: Path) -> Iterator[str]:
    with serve(create_app(sandbox_dir / "world")) as url:
        yield url


@pytest.fixture(scope="module")
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def fixtures() -> dict[str, dict[str, Any]]:
    return json.loads(FIXTURES.read_text())["resources"]


def walk(client: httpx.Client, resource: str, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
    """Every object of a list endpoint, following `starting_after`; checks each page's shape."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = {"limit": limit, **params, **({"starting_after": after} if after else {})}
        response = client.get(f"/v1/{resource}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"object", "data", "has_more", "url"}
        assert body["object"] == "list" and body["url"] == f"/v1/{resource}"
        assert len(body["data"]) <= limit
        out.extend(body["data"])
        if not body["has_more"]:
            return out
        assert body["data"], "has_more with an empty page"
        after = body["data"][-1]["id"]


def expected_ids(state: dict[str, pd.DataFrame], resource: str, account: str = "acct_lumen00000000000",
                 since: pd.Timestamp | None = None) -> list[str]:
    """Ids of the account's objects at the clock, newest first (created seconds desc, id desc)."""
    frame = state[TABLES[resource]]
    frame = frame[frame["account_id"] == account]
    if since is not None:
        frame = frame[frame["created_at"] > since]
    seconds = frame["created_at"].astype("int64") // 1_000_000
    keyed = pd.DataFrame({"id": frame[ID_COLUMNS[resource]].astype(str), "s": seconds})
    return keyed.sort_values(["s", "id"], ascending=False)["id"].tolist()


def assert_error(response: httpx.Response, status: int, **expected: str) -> dict[str, Any]:
    """The response is Stripe's error object with `status` and the given fields."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    for key, value in expected.items():
        assert error.get(key) == value, (key, error)
    return error


def _literals(annotation: Any) -> set[str]:
    if isinstance(annotation, str):
        return set(re.findall(r"[\"']([^\"']+)[\"']", annotation.partition("Literal[")[2]))
    out: set[str] = set()
    for arg in typing.get_args(annotation):
        out |= {arg} if isinstance(arg, str) else _literals(arg)
    return out


def literal_values(cls: type, name: str) -> set[str]:
    """The string literals the `stripe` package declares for attribute `name` of `cls` (its `Literal[...]`);
    for the few fields it types as plain `str`, the values Stripe documents."""
    return _literals(cls.__annotations__[name]) or DOCUMENTED_ENUMS[(cls.__name__, name)]


# --------------------------------------------------------------------------------------------- conformance


def test_objects_have_fixture_key_sets(api: httpx.Client, fixtures: dict[str, dict[str, Any]]) -> None:
    problems = []
    seen: set[str] = set()
    for resource in RESOURCES:
        objects = walk(api, resource)
        assert objects, f"no {resource} in the tiny world"
        nested = [o["data"]["object"] for o in objects if o["object"] == "event"]
        for obj in objects + nested:
            seen.add(obj["object"])
            want = set(fixtures[obj["object"]])
            missing, extra = want - set(obj), set(obj) - want
            if missing or extra:
                problems.append(f"{obj['object']} {obj['id']}: missing {sorted(missing)} extra {sorted(extra)}")
    assert not problems, "\n".join(problems[:20])
    assert seen == {"charge", "refund", "dispute", "balance_transaction", "payment_intent", "event"}


def test_enum_values_within_stripe_literals(api: httpx.Client) -> None:
    checks = [
        ("disputes", lambda o: o["reason"], literal_values(stripe.Dispute, "reason")),
        ("disputes", lambda o: o["status"], literal_values(stripe.Dispute, "status")),
        ("charges", lambda o: o["status"], literal_values(stripe.Charge, "status")),
        ("charges", lambda o: o["outcome"]["type"], literal_values(stripe.Charge.Outcome, "type")),
        ("balance_transactions", lambda o: o["type"], literal_values(stripe.BalanceTransaction, "type")),
        ("refunds", lambda o: o["reason"], literal_values(stripe.Refund, "reason")),
        ("payment_intents", lambda o: o["status"], literal_values(stripe.PaymentIntent, "status")),
        ("events", lambda o: o["type"], literal_values(stripe.Event, "type")),
    ]
    for resource, get, allowed in checks:
        assert allowed, f"no literals found for {resource}"
        values = {get(o) for o in walk(api, resource)}
        assert values <= allowed, (resource, values - allowed)


def test_retrieve_matches_list_and_404(api: httpx.Client) -> None:
    for resource in RESOURCES:
        first = api.get(f"/v1/{resource}", params={"limit": 1}).json()["data"][0]
        assert api.get(f"/v1/{resource}/{first['id']}").json() == first
        assert_error(api.get(f"/v1/{resource}/nope_123"), 404, code="resource_missing", param="id")


# --------------------------------------------------------------------------------------------- paging


def test_walk_all_charges_with_limit_7(api: httpx.Client, state: dict[str, pd.DataFrame]) -> None:
    charges = walk(api, "charges", limit=7)
    ids = [c["id"] for c in charges]
    assert ids == expected_ids(state, "charges")
    assert len(ids) == len(set(ids))
    created = [c["created"] for c in charges]
    assert created == sorted(created, reverse=True)


def test_last_page_and_empty_list(api: httpx.Client) -> None:
    charges = walk(api, "charges")
    assert len(charges) > 100
    body = api.get("/v1/charges", params={"limit": 100, "starting_after": charges[-2]["id"]}).json()
    assert [c["id"] for c in body["data"]] == [charges[-1]["id"]] and body["has_more"] is False
    past_end = api.get("/v1/charges", params={"starting_after": charges[-1]["id"]}).json()
    assert past_end["data"] == [] and past_end["has_more"] is False
    empty = api.get("/v1/charges", params={"created[gt]": 4_000_000_000}).json()
    assert empty["data"] == [] and empty["has_more"] is False


def test_ending_before_walks_backwards(api: httpx.Client) -> None:
    forward = [c["id"] for c in walk(api, "charges", limit=9)]
    backward: list[str] = []
    before = forward[-1]
    backward.insert(0, before)
    while True:
        body = api.get("/v1/charges", params={"limit": 9, "ending_before": before}).json()
        page = [c["id"] for c in body["data"]]
        backward[:0] = page
        if not body["has_more"]:
            break
        before = page[0]
    assert backward == forward


@pytest.mark.parametrize("value", ["0", "101", "-1", "abc"])
def test_limit_out_of_range(api: httpx.Client, value: str) -> None:
    assert_error(api.get("/v1/charges", params={"limit": value}), 400, param="limit")


def test_limit_bounds_accepted(api: httpx.Client) -> None:
    assert len(api.get("/v1/charges", params={"limit": 1}).json()["data"]) == 1
    assert len(api.get("/v1/charges", params={"limit": 100}).json()["data"]) == 100
    assert len(api.get("/v1/charges").json()["data"]) == 10


def test_cursor_errors(api: httpx.Client) -> None:
    for param in ("starting_after", "ending_before"):
        error = assert_error(api.get("/v1/charges", params={param: "ch_unknown"}), 400,
                             code="resource_missing", param=param)
        assert error["message"] == "No such charge: 'ch_unknown'"
    some = api.get("/v1/charges").json()["data"][0]["id"]
    assert_error(api.get("/v1/charges", params={"starting_after": some, "ending_before": some}), 400)
    assert_error(api.get("/v1/charges", params={"customer": "cus_1"}), 400, param="customer")


def test_created_filters(api: httpx.Client, state: dict[str, pd.DataFrame]) -> None:
    everything = walk(api, "charges")
    pivot = everything[len(everything) // 2]["created"]
    older = walk(api, "charges", **{"created[lt]": pivot})
    newer = walk(api, "charges", **{"created[gte]": pivot})
    assert [c["id"] for c in newer + older] == [c["id"] for c in everything]
    assert all(c["created"] < pivot for c in older) and all(c["created"] >= pivot for c in newer)
    window = walk(api, "charges", **{"created[gt]": pivot - 86_400, "created[lte]": pivot})
    assert window and all(pivot - 86_400 < c["created"] <= pivot for c in window)
    assert len(window) == sum(pivot - 86_400 < c["created"] <= pivot for c in everything)
    exact = walk(api, "charges", created=pivot)
    assert exact and all(c["created"] == pivot for c in exact)
    assert_error(api.get("/v1/charges", params={"created[gte]": "yesterday"}), 400, param="created[gte]")


def test_expand(api: httpx.Client) -> None:
    charges = api.get("/v1/charges", params={"limit": 20, "expand[]": "data.balance_transaction"}).json()["data"]
    paid = [c for c in charges if c["status"] == "succeeded"]
    assert paid and all(c["balance_transaction"]["object"] == "balance_transaction" for c in paid)
    assert all(c["balance_transaction"]["source"] == c["id"] for c in paid)
    disputes = api.get("/v1/disputes", params={"expand[0]": "data.charge",
                                               "expand[1]": "data.balance_transactions"}).json()["data"]
    assert disputes and all(d["charge"]["object"] == "charge" and d["charge"]["disputed"] for d in disputes)
    assert all(all(b["object"] == "balance_transaction" for b in d["balance_transactions"]) for d in disputes)
    refunds = api.get("/v1/refunds", params={"expand[]": "data.charge.balance_transaction"}).json()["data"]
    assert refunds and all(r["charge"]["balance_transaction"]["object"] == "balance_transaction" for r in refunds)
    one = api.get(f"/v1/charges/{paid[0]['id']}", params={"expand[]": "payment_intent"}).json()
    assert one["payment_intent"]["object"] == "payment_intent"
    assert_error(api.get("/v1/charges", params={"expand[]": "data.customer"}), 400)


def test_events_retention_and_type_filter(api: httpx.Client, state: dict[str, pd.DataFrame],
                                         clock: pd.Timestamp) -> None:
    horizon = clock - pd.Timedelta(days=30)
    events = walk(api, "events")
    assert [e["id"] for e in events] == expected_ids(state, "events", since=horizon)
    assert all(e["created"] > horizon.timestamp() - 1 for e in events)
    old = state["events"][state["events"]["created_at"] <= horizon]
    assert len(old), "the tiny world should have events older than 30 days"
    assert_error(api.get(f"/v1/events/{old['event_id'].iloc[0]}"), 404, param="id")
    disputes = walk(api, "events", type="charge.dispute.*")
    assert disputes and all(e["type"].startswith("charge.dispute.") for e in disputes)
    succeeded = walk(api, "events", type="charge.succeeded")
    assert succeeded and {e["type"] for e in succeeded} == {"charge.succeeded"}
    assert all(e["data"]["object"]["status"] == "succeeded" for e in succeeded)
    assert len(succeeded) == sum(e["type"] == "charge.succeeded" for e in events)


def test_event_objects_are_as_of_the_event(api: httpx.Client) -> None:
    for event in walk(api, "events", type="charge.succeeded"):
        assert event["data"]["object"]["created"] <= event["created"]
        assert event["data"]["object"]["disputed"] is False or event["data"]["object"]["created"] < event["created"]
    for event in walk(api, "events", type="charge.dispute.created"):
        assert event["data"]["object"]["status"] in {"needs_response", "warning_needs_response"}


# --------------------------------------------------------------------------------------------- auth, accounts


def test_auth_failures(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        error = assert_error(client.get("/v1/charges"), 401)
        assert "did not provide an API key" in error["message"]
        bad = "sk_test_not_a_real_key_9876"
        error = assert_error(client.get("/v1/charges", headers={"Authorization": f"Bearer {bad}"}), 401)
        assert error["message"].startswith("Invalid API Key provided: sk_test_") and error["message"].endswith("9876")
        assert bad not in error["message"]
        assert_error(client.get("/v1/charges/ch_x", headers={"Authorization": "Bearer"}), 401)
        assert_error(client.get("/v1/nothing", headers={"Authorization": "Token abc"}), 401)
        basic = client.get("/v1/charges", params={"limit": 1}, auth=(KEY, ""))
        assert basic.status_code == 200 and len(basic.json()["data"]) == 1


@pytest.fixture(scope="module")
def two_account_world(sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the world where the objects of store OTHER_STORE belong to a second account with OTHER_KEY."""
    world = tmp_path_factory.mktemp("stripe_two") / "world"
    shutil.copytree(sandbox_dir / "world", world)
    for path in (world / "payments").glob("*.parquet"):
        frame = pd.read_parquet(path)
        if path.stem == "stripe_accounts":
            extra = frame.iloc[[0]].assign(account_id=OTHER_ACCOUNT, brand="OtherBrand", secret_key=OTHER_KEY)
            frame = pd.concat([frame, extra], ignore_index=True)
        elif "account_id" in frame and "store_id" in frame:
            frame["account_id"] = frame["account_id"].where(frame["store_id"] != OTHER_STORE, OTHER_ACCOUNT)
        frame.to_parquet(path, index=False)
    return world


def test_other_account_never_sees_this_accounts_objects(two_account_world: Path) -> None:
    state = world_at(load_world(two_account_world)).areas["payments"]
    with serve(create_app(two_account_world)) as url:
        ids: dict[str, set[str]] = {}
        for key in (KEY, OTHER_KEY):
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
                ids[key] = {o["id"] for r in RESOURCES for o in walk(client, r)}
                mine = walk(client, "charges")
                assert {c["metadata"]["shopify_shop"].startswith(OTHER_STORE) for c in mine if
                        c["metadata"].get("shopify_shop")} == {key == OTHER_KEY}
        assert ids[KEY] and ids[OTHER_KEY] and not ids[KEY] & ids[OTHER_KEY]
        assert ids[OTHER_KEY] >= set(expected_ids(state, "charges", OTHER_ACCOUNT)) > set()
        foreign = next(iter(ids[KEY] & set(expected_ids(state, "charges"))))
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OTHER_KEY}"}) as client:
            assert_error(client.get(f"/v1/charges/{foreign}"), 404, param="id")
            assert_error(client.get("/v1/charges", params={"starting_after": foreign}), 400,
                         code="resource_missing")


# --------------------------------------------------------------------------------------------- clock, limiter, stats


def test_clock_advance_shows_new_objects_without_restart(sandbox_dir: Path,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("stripe_advance") / "sandbox"
    shutil.copytree(sandbox_dir, out)
    with serve(create_app(out / "world")) as url, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        before = walk(client, "charges")
        old_clock = pd.Timestamp(json.loads((out / "world" / "meta.json").read_text())["as_of"]).timestamp()
        assert max(c["created"] for c in before) <= old_clock
        advance(out, 3)
        after = walk(client, "charges")
        new = {c["id"] for c in after} - {c["id"] for c in before}
        assert new and all(c["created"] > old_clock - 1 for c in after if c["id"] in new)
        assert {c["id"] for c in before} <= {c["id"] for c in after}
        assert [c["id"] for c in after] == expected_ids(world_at(load_world(out / "world")).areas["payments"],
                                                        "charges")
        reloaded = {r: walk(client, r) for r in RESOURCES}
    with serve(create_app(out / "world")) as url, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        fresh = {r: walk(client, r) for r in RESOURCES}
    assert reloaded == fresh  # objects re-used from before the move are exactly what a fresh start renders


def test_rate_limit(sandbox_dir: Path) -> None:
    now = [1000.0]
    app = create_app(sandbox_dir / "world", rate_limit_per_second=2, clock=lambda: now[0])
    with serve(app) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        assert [client.get("/v1/charges", params={"limit": 1}).status_code for _ in range(2)] == [200, 200]
        assert_error(client.get("/v1/charges"), 429, code="rate_limit")
        now[0] += 1
        assert client.get("/v1/charges", params={"limit": 1}).status_code == 200


def test_no_rate_limit_by_default(api: httpx.Client) -> None:
    assert {api.get("/v1/refunds", params={"limit": 1}).status_code for _ in range(30)} == {200}


def test_stats(api: httpx.Client) -> None:
    assert api.post("/__stats/reset").json() == {"ok": True}
    api.get("/v1/charges", params={"limit": 5})
    api.get("/v1/charges", params={"limit": 3})
    api.get("/v1/disputes/du_missing")
    stats = api.get("/__stats").json()
    assert stats["endpoints"]["GET /v1/charges"] == {"requests": 2, "objects": 8}
    assert stats["endpoints"]["GET /v1/disputes/{id}"] == {"requests": 1, "objects": 0}
    assert stats["by_status"] == {"200": 2, "404": 1}


# --------------------------------------------------------------------------------------------- official client


def test_official_stripe_client_lists_charges(base_url: str, state: dict[str, pd.DataFrame]) -> None:
    client = stripe.StripeClient(KEY, base_addresses={"api": base_url}, max_network_retries=0)
    page = client.v1.charges.list(params={"limit": 3})
    assert len(page.data) == 3 and isinstance(page.data[0], stripe.Charge)
    ids = [c.id for c in page.auto_paging_iter()]
    assert ids == expected_ids(state, "charges")
    dispute = client.v1.disputes.list(params={"limit": 1, "expand": ["data.charge"]}).data[0]
    assert isinstance(dispute.charge, stripe.Charge)
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": base_url}).v1.charges.list()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.retrieve("ch_does_not_exist")


def test_event_type_filter_with_cursor_of_another_type(api: httpx.Client) -> None:
    events = walk(api, "events")
    succeeded = [e["id"] for e in events if e["type"] == "charge.succeeded"]
    pivot = next(i for i, e in enumerate(events[5:], 5) if e["type"] != "charge.succeeded")
    body = api.get("/v1/events", params={"type": "charge.succeeded", "starting_after": events[pivot]["id"],
                                         "limit": 100}).json()
    expected = [e["id"] for e in events[pivot + 1:] if e["type"] == "charge.succeeded"][:100]
    assert [e["id"] for e in body["data"]] == expected
    back = api.get("/v1/events", params={"types[]": ["charge.succeeded", "charge.failed"],
                                         "ending_before": events[pivot]["id"], "limit": 100}).json()
    wanted = [e["id"] for e in events[:pivot] if e["type"] in ("charge.succeeded", "charge.failed")][-100:]
    assert [e["id"] for e in back["data"]] == wanted
    assert set(succeeded) >= {e["id"] for e in body["data"]}
