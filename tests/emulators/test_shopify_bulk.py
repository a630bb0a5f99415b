"""Bulk operations of the Shopify emulator: lifecycle, the JSONL file with `__parentId`, userErrors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest

from sandbox.emulators.shopify import create_app
from sandbox.emulators.shopify_bulk import BulkTimings
from sandbox.world import load_world, world_at
from tests.emulators.helpers import serve
from tests.emulators.shopify_view import shopify_view

RUN = """mutation($q: String!) {
  bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { field message code } }
}"""
POLL = """query($id: ID!) { node(id: $id) { ... on BulkOperation {
  id status errorCode objectCount rootObjectCount fileSize url type query completedAt } } }"""
ORDERS_AND_LINES = """{ orders { edges { node {
  id name transactions { id kind } lineItems { edges { node { id sku quantity } } } } } } }"""


class Shop:
    def __init__(self, http: httpx.Client, base: str, shop: str, token: str) -> None:
        self.http, self.url, self.token = http, f"{base}/shops/{shop}/admin/api/2026-07/graphql.json", token

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(self.url, json={"query": query, "variables": variables or {}},
                                  headers={"X-Shopify-Access-Token": self.token})
        assert response.status_code == 200
        return response.json()

    def run(self, query: str) -> dict[str, Any]:
        return self.gql(RUN, {"q": query})["data"]["bulkOperationRunQuery"]


@pytest.fixture(scope="module")
def tables(world_dir: Path) -> dict[str, pd.DataFrame]:
    """The world at its clock as Shopify shows it (replacement orders are orders too)."""
    return shopify_view(world_at(load_world(world_dir)))


@pytest.fixture(scope="module")
def store(tables: dict[str, pd.DataFrame]) -> pd.Series:
    return tables["stores"].sort_values("store_id").iloc[0]


@pytest.fixture(scope="module")
def shop(world_dir: Path, store: pd.Series) -> Iterator[Shop]:
    """Operations stay CREATED and RUNNING for 0.4 s each, so polling sees every state."""
    app = create_app(world_dir, bulk_timings=BulkTimings(created_seconds=0.4, running_seconds=0.4))
    with serve(app) as base, httpx.Client(timeout=30) as http:
        yield Shop(http, base, store["shop"], store["access_token"])


def _wait(shop: Shop, op_id: str) -> tuple[list[str], dict[str, Any]]:
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        op = shop.gql(POLL, {"id": op_id})["data"]["node"]
        if not seen or seen[-1] != op["status"]:
            seen.append(op["status"])
        if op["status"] not in {"CREATED", "RUNNING"}:
            return seen, op
        time.sleep(0.05)
    raise AssertionError(f"bulk operation {op_id} did not finish: {seen}")


@pytest.fixture(scope="module")
def finished(shop: Shop) -> dict[str, Any]:
    started = shop.gql(RUN, {"q": ORDERS_AND_LINES})
    payload = started["data"]["bulkOperationRunQuery"]
    assert payload["userErrors"] == []
    assert payload["bulkOperation"]["status"] == "CREATED"
    assert started["extensions"]["cost"]["requestedQueryCost"] == 10, "a mutation costs 10"
    in_progress = shop.run(ORDERS_AND_LINES)
    assert in_progress["bulkOperation"] is None
    assert in_progress["userErrors"] == [{"field": None, "code": "OPERATION_IN_PROGRESS", "message":
        f"A bulk query operation for this app and shop is already in progress: {payload['bulkOperation']['id']}."}]
    seen, op = _wait(shop, payload["bulkOperation"]["id"])
    lines = [orjson.loads(line) for line in shop.http.get(op["url"]).content.splitlines()]
    return {"seen": seen, "op": op, "lines": lines, "raw": shop.http.get(op["url"]).content}


def test_status_runs_created_running_completed(finished: dict[str, Any], shop: Shop) -> None:
    assert finished["seen"] == ["CREATED", "RUNNING", "COMPLETED"]
    op = finished["op"]
    assert op["type"] == "QUERY" and op["errorCode"] is None and op["completedAt"]
    assert op["query"] == ORDERS_AND_LINES
    current = shop.gql("{ currentBulkOperation { id status } }")["data"]["currentBulkOperation"]
    assert current == {"id": op["id"], "status": "COMPLETED"}
    by_id = shop.gql("query($id: ID!) { bulkOperation(id: $id) { id } }", {"id": op["id"]})
    assert by_id["data"]["bulkOperation"] == {"id": op["id"]}


def test_jsonl_has_one_line_per_object_and_children_point_to_their_parent(
        finished: dict[str, Any], tables: dict[str, pd.DataFrame], store: pd.Series) -> None:
    op, lines = finished["op"], finished["lines"]
    orders = tables["orders"][tables["orders"]["store_id"] == store["store_id"]]
    items = tables["line_items"][tables["line_items"]["order_id"].isin(orders["order_id"])]
    roots = [line for line in lines if "__parentId" not in line]
    children = [line for line in lines if "__parentId" in line]
    assert {r["id"] for r in roots} == {f"gid://shopify/Order/{i}" for i in orders["order_id"]}
    assert {c["id"] for c in children} == {f"gid://shopify/LineItem/{i}" for i in items["line_item_id"]}
    assert (int(op["objectCount"]), int(op["rootObjectCount"])) == (len(lines), len(roots))
    assert int(op["fileSize"]) == len(finished["raw"])
    parent_of = dict(zip(items["line_item_id"], items["order_id"], strict=True))
    seen_parents: set[str] = set()
    for line in lines:
        if "__parentId" in line:
            assert line["__parentId"] == f"gid://shopify/Order/{parent_of[int(line['id'].rsplit('/', 1)[1])]}"
            assert line["__parentId"] in seen_parents, "a child line comes after its parent"
            assert set(line) == {"id", "sku", "quantity", "__parentId"}
        else:
            seen_parents.add(line["id"])
            assert "lineItems" not in line, "nested connections are lines of their own"
            assert isinstance(line["transactions"], list), "lists stay inline"


@pytest.mark.parametrize(("query", "message"), [
    ("{ shop { id } }", "Bulk queries must contain at least one connection."),
    ("{ orders { edges { node { id nope } } } }", "Invalid bulk query: Field 'nope' doesn't exist on type 'Order'"),
    ("{ orders { edges { node { id refunds { refundLineItems { edges { node { id } } } } } } } }",
     "Queries that contain a connection field within a list field are not currently supported."),
    ("{ orders { edges { node { name lineItems { edges { node { id } } } } } } }",
     "The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of "
     "'ID' return type. Connection fields without 'id': lineItems."),
    ("{ orders { edges { node { id lineItems { edges { node { id product { id variants { edges { node { id "
     "inventoryItem { id inventoryLevels { edges { node { id } } } } } } } } } } } } } } }",
     "Bulk queries cannot contain connections with a nesting depth greater than 2."),
])
def test_invalid_bulk_queries_get_user_errors(shop: Shop, finished: dict[str, Any], query: str,
                                              message: str) -> None:
    payload = shop.run(query)
    assert payload["bulkOperation"] is None
    assert payload["userErrors"] == [{"field": ["query"], "message": message, "code": "INVALID"}]


def test_unknown_operation_and_file(shop: Shop, finished: dict[str, Any]) -> None:
    assert shop.gql(POLL, {"id": "gid://shopify/BulkOperation/999"})["data"]["node"] is None
    assert shop.http.get(finished["op"]["url"].replace("/1.jsonl", "/999.jsonl")).status_code == 404
