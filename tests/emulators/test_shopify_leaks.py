"""The leaks area in the Shopify emulator (shopify_leaks): returns, replacement orders, store credit, refund staff.

Every query here is first validated against the vendored 2026-07 schema, then answered by the emulator for the
busiest store of the tiny world, and compared with the world at its clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pandas as pd
import pytest

from sandbox.emulators.shopify import create_app
from sandbox.emulators.shopify_schema import shopify_schema
from sandbox.world import load_world, world_at
from tests.emulators.helpers import serve
from tests.emulators.shopify_view import shopify_view

RETURNS = """query($first: Int!, $after: String) {
  orders(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id updatedAt returnStatus
      returns(first: 3) { nodes {
        id name status createdAt requestApprovedAt closedAt totalQuantity order { id }
        returnLineItems(first: 3) { nodes { id quantity customerNote
          ... on ReturnLineItem { returnReason returnReasonDefinition { handle name }
                                  fulfillmentLineItem { id lineItem { id } } } } }
        reverseFulfillmentOrders(first: 1) { nodes { id status
          lineItems(first: 3) { nodes { id totalQuantity dispositions { createdAt type quantity } } }
          reverseDeliveries(first: 1) { nodes { id } } } }
      } }
      refunds(first: 5) { id staffMember { id name firstName lastName email active } }
    }
  }
}"""

CREDIT = """query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Customer {
      id
      storeCreditAccounts(first: 2) { nodes {
        id balance { amount currencyCode } owner { ... on Customer { id } }
        transactions(first: 20) { nodes {
          amount { amount currencyCode } createdAt event
          ... on StoreCreditAccountCreditTransaction { id expiresAt remainingAmount { amount } }
          origin { ... on OrderTransaction { id kind status gateway order { id } user { id name } } }
        } }
      } }
      events(first: 20, query: "verb:comment") { nodes { id createdAt message
        ... on CommentEvent { author { id name } } } }
    }
  }
}"""

ACCOUNT = """query($id: ID!) { storeCreditAccount(id: $id) { id transactions(first: 5) { nodes { createdAt } } } }"""


def _valid(query: str) -> None:
    assert graphql.validate(shopify_schema(), graphql.parse(query)) == [], query[:60]


def _id(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def _iso(ts: pd.Timestamp | Any) -> str | None:
    return None if pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def world(world_dir: Path) -> Any:
    return world_at(load_world(world_dir))


@pytest.fixture(scope="module")
def store(world: Any) -> pd.Series:
    counts = world.areas["leaks"]["returns"]["store_id"].value_counts()
    return world.stores.set_index("store_id").loc[counts.index[0]].rename(counts.index[0])


@pytest.fixture(scope="module")
def gql(world_dir: Path, store: pd.Series) -> Iterator[Any]:
    with serve(create_app(world_dir, cost_limits=False)) as base, httpx.Client(timeout=30) as http:
        url = f"{base}/shops/{store['shop']}/admin/api/2026-07/graphql.json"

        def run(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            _valid(query)
            body = http.post(url, json={"query": query, "variables": variables},
                             headers={"X-Shopify-Access-Token": store["access_token"]}).json()
            assert "errors" not in body, body["errors"][:2]
            return body["data"]

        yield run


@pytest.fixture(scope="module")
def orders(gql: Any) -> list[dict[str, Any]]:
    out, after = [], None
    while True:
        conn = gql(RETURNS, {"first": 100, "after": after})["orders"]
        out += conn["nodes"]
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        after = conn["pageInfo"]["endCursor"]


def test_returns_are_the_worlds_with_reason_and_received_disposition(orders: list[dict[str, Any]], world: Any,
                                                                     store: pd.Series) -> None:
    ret = world.areas["leaks"]["returns"]
    ret = ret[ret["store_id"] == store.name].set_index("return_id")
    served = {_id(r["id"]): (o, r) for o in orders for r in o["returns"]["nodes"]}
    assert len(ret) > 5 and set(served) == set(ret.index)
    for return_id, row in ret.iterrows():
        order, node = served[return_id]
        assert _id(order["id"]) == row["order_id"] == _id(node["order"]["id"])
        assert (node["name"], node["status"], node["totalQuantity"]) == (row["name"], row["status"], row["quantity"])
        assert (node["createdAt"], node["requestApprovedAt"], node["closedAt"]) == (
            _iso(row["requested_at"]), _iso(row["approved_at"]), _iso(row["closed_at"]))
        [line] = node["returnLineItems"]["nodes"]
        assert line["returnReason"] == row["return_reason"]
        assert line["returnReasonDefinition"]["handle"] == row["return_reason"].lower().replace("_", "-")
        assert _id(line["fulfillmentLineItem"]["lineItem"]["id"]) == row["line_item_id"]
        [rfo] = node["reverseFulfillmentOrders"]["nodes"]
        [rfo_line] = rfo["lineItems"]["nodes"]
        received = [d["createdAt"] for d in rfo_line["dispositions"]]
        assert received == ([] if pd.isna(row["received_at"]) else [_iso(row["received_at"])])
        assert rfo["status"] == ("OPEN" if pd.isna(row["received_at"]) else "CLOSED")
        assert rfo["reverseDeliveries"]["nodes"] == []


def test_return_status_and_updated_at_follow_the_returns(orders: list[dict[str, Any]], world: Any) -> None:
    view = shopify_view(world)["orders"].set_index("order_id")
    statuses = set()
    for order in orders:
        nodes = order["returns"]["nodes"]
        states = {r["status"] for r in nodes}
        expected = ("NO_RETURN" if not nodes else "RETURN_REQUESTED" if "REQUESTED" in states
                    else "IN_PROGRESS" if "OPEN" in states else "RETURNED")
        assert order["returnStatus"] == expected
        statuses.add(expected)
        assert order["updatedAt"] == _iso(view.loc[_id(order["id"]), "updated_at"])
        for r in nodes:  # a return's changes are changes of its order
            assert order["updatedAt"] >= max(t for t in (r["createdAt"], r["requestApprovedAt"], r["closedAt"]) if t)
    assert {"NO_RETURN", "RETURNED"} <= statuses


def test_replacement_orders_are_zero_price_orders_of_the_store(orders: list[dict[str, Any]], world: Any,
                                                               store: pd.Series) -> None:
    rep = world.areas["leaks"]["replacement_orders"]
    rep = rep[rep["store_id"] == store.name]
    served = {_id(o["id"]) for o in orders}
    assert len(rep) > 0 and set(rep["order_id"]) <= served
    assert served == set(world.orders.loc[world.orders["store_id"] == store.name, "order_id"]) | set(rep["order_id"])


def test_refund_staff_member_is_the_worlds_issuer(orders: list[dict[str, Any]], world: Any) -> None:
    staff = world.areas["leaks"]["refund_staff"].set_index("refund_id")["staff"]
    names = world.areas["leaks"]["approvers"].set_index("staff")["name"]
    seen = 0
    for order in orders:
        for refund in order["refunds"]:
            handle = staff[_id(refund["id"])]
            member = refund["staffMember"]
            assert member["name"] == names[handle] and member["active"] is True
            assert member["email"].startswith(handle + "@")
            assert f"{member['firstName']} {member['lastName']}" == member["name"]
            seen += 1
    assert seen > 5


def test_store_credit_by_customer_with_origin_order_issuer_and_note(gql: Any, world: Any, store: pd.Series) -> None:
    credits = world.areas["leaks"]["store_credit_transactions"]
    credits = credits[credits["store_id"] == store.name]
    assert len(credits) > 5
    names = world.areas["leaks"]["approvers"].set_index("staff")["name"]
    customers = sorted({f"gid://shopify/Customer/{c}" for c in credits["customer_id"]})
    served: dict[int, dict[str, Any]] = {}
    notes: dict[tuple[int, str], str] = {}
    for node in gql(CREDIT, {"ids": customers})["nodes"]:
        [account] = node["storeCreditAccounts"]["nodes"]
        assert account["owner"]["id"] == node["id"]
        total = sum(float(t["amount"]["amount"]) for t in account["transactions"]["nodes"])
        assert float(account["balance"]["amount"]) == pytest.approx(total)
        for tx in account["transactions"]["nodes"]:
            served[_id(tx["id"])] = tx
        for event in node["events"]["nodes"]:
            notes[(_id(node["id"]), event["createdAt"])] = (event["message"], event["author"]["name"])
    assert set(served) == set(credits["store_credit_transaction_id"])
    for row in credits.itertuples():
        tx = served[row.store_credit_transaction_id]
        assert tx["amount"] == {"amount": f"{row.amount_cents / 100:.2f}", "currencyCode": row.currency}
        assert (tx["createdAt"], tx["expiresAt"]) == (_iso(row.created_at), _iso(row.expires_at))
        origin = tx["origin"]
        assert _id(origin["order"]["id"]) == row.order_id
        assert (origin["kind"], origin["status"], origin["gateway"]) == ("REFUND", "SUCCESS", "shopify_store_credit")
        assert origin["user"]["name"] == names[row.issued_by]
        note = notes.get((row.customer_id, tx["createdAt"]))
        assert note == (None if pd.isna(row.note) else (row.note, names[row.issued_by]))
    account_id = f"gid://shopify/StoreCreditAccount/{credits['store_credit_account_id'].iloc[0]}"
    assert gql(ACCOUNT, {"id": account_id})["storeCreditAccount"]["id"] == account_id
