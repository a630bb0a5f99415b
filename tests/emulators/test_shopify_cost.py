"""Query cost, the per-shop leaky bucket, THROTTLED and MAX_COST_EXCEEDED of the Shopify emulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pandas as pd
import pytest

from pipelines.sources.shopify import bulk as source_queries
from pipelines.sources.shopify import leaks as leak_queries
from sandbox.emulators.shopify import create_app
from sandbox.emulators.shopify_cost import requested_cost
from sandbox.emulators.shopify_schema import shopify_schema
from tests.emulators.helpers import serve

ORDER_IDS = "query($n: Int!) { orders(first: $n) { nodes { id } } }"
ORDERS_WITH_LINES = "{ orders(first: 5, sortKey: ID) { nodes { id lineItems(first: 3) { nodes { id } } } } }"


def _cost(query: str, variables: dict[str, Any] | None = None) -> int | None:
    return requested_cost(shopify_schema(), graphql.parse(query), variables)


@pytest.mark.parametrize(("query", "variables", "expected"), [
    ("{ shop { id name } }", None, 1),  # one object, scalars free
    ("{ products(first: 10) { edges { node { title } } } }", None, 12),  # 2 + 10 x 1
    (ORDERS_WITH_LINES, None, 2 + 5 * (1 + 2 + 3 * 1)),
    ("{ orders(first: 2) { nodes { totalShippingPriceSet { shopMoney { amount } } } pageInfo { hasNextPage } } }",
     None, 2 + 2 * (1 + 2)),
    ('{ node(id: "gid://shopify/Order/1") { id ... on Order { customer { id } } } }', None, 2),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["a", "b", "c"]}, 3),
    (ORDER_IDS, {"n": 40}, 42),
    ('mutation { bulkOperationRunQuery(query: "{ orders { edges { node { id } } } }") { userErrors { message } } }',
     None, 10),
])
def test_requested_cost_follows_shopifys_rules(query: str, variables: dict[str, Any] | None, expected: int) -> None:
    assert _cost(query, variables) == expected


def test_every_query_of_the_source_stays_under_the_single_query_limit() -> None:
    checks = [
        (source_queries.ORDERS_PAGE, {"first": source_queries.PAGE_ORDERS}),
        (source_queries.MORE_LINE_ITEMS_QUERY, {"id": "gid://shopify/Order/1"}),
        (source_queries.MORE_TRANSACTIONS_QUERY, {"id": "gid://shopify/Order/1"}),
        (source_queries.REFUNDS_QUERY, {"ids": ["x"] * (1000 // (1 + source_queries.REFUND_COST)), "refunds": 1}),
        (source_queries.REFUNDS_QUERY, {"ids": ["x"], "refunds": 1000 // source_queries.REFUND_COST - 1}),
        (leak_queries.RETURNS_QUERY, {"ids": ["x"] * (1000 // leak_queries.RETURN_ORDER_COST)}),
        (leak_queries.CREDIT_QUERY, {"ids": ["x"] * (1000 // leak_queries.CREDIT_CUSTOMER_COST)}),
    ]
    for query, variables in checks:
        assert graphql.validate(shopify_schema(), graphql.parse(query)) == []
        cost = _cost(query, variables)
        assert cost is not None and cost <= 1000, (query[:40], cost)
    assert _cost(source_queries.ORDERS_PAGE, {"first": source_queries.PAGE_ORDERS + 2}) > 1000, \
        "the page size is the largest that fits"
    # the per-object costs the batches are sized with are the emulator's (Shopify's rules)
    assert _cost(source_queries.REFUNDS_QUERY, {"ids": ["x"], "refunds": 1}) == 1 + source_queries.REFUND_COST
    assert _cost(leak_queries.RETURNS_QUERY, {"ids": ["x"]}) == leak_queries.RETURN_ORDER_COST
    assert _cost(leak_queries.CREDIT_QUERY, {"ids": ["x"]}) == leak_queries.CREDIT_CUSTOMER_COST


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Shop:
    def __init__(self, http: httpx.Client, base: str, shop: str, token: str) -> None:
        self.http, self.url, self.token = http, f"{base}/shops/{shop}/admin/api/2026-07/graphql.json", token

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(self.url, json={"query": query, "variables": variables or {}},
                              headers={"X-Shopify-Access-Token": self.token})


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def served(world_dir: Path, tables: dict[str, pd.DataFrame], clock: Clock) -> Iterator[tuple[Shop, Shop, Any]]:
    """A small bucket (100 points, 10 a second) on a clock the tests move."""
    app = create_app(world_dir, bucket_size=100, restore_rate=10, clock=clock)
    stores = tables["stores"].sort_values("store_id")
    with serve(app) as base, httpx.Client(timeout=30) as http:
        shops = [Shop(http, base, row.shop, row.access_token) for row in stores.itertuples()]
        yield shops[0], shops[1], app


def _refill(clock: Clock) -> None:
    clock.now += 1000


def test_actual_cost_counts_what_was_returned(served, tables: dict[str, pd.DataFrame], clock: Clock) -> None:
    shop, _, _ = served
    _refill(clock)
    body = shop.post(ORDERS_WITH_LINES).json()
    lines = tables["line_items"].groupby("order_id").size()
    returned = [int(node["id"].rsplit("/", 1)[1]) for node in body["data"]["orders"]["nodes"]]
    expected = 2 + sum(1 + 2 + min(3, int(lines.get(order_id, 0))) for order_id in returned)
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 32
    assert cost["actualQueryCost"] == expected < 32
    assert cost["throttleStatus"] == {"maximumAvailable": 100.0, "currentlyAvailable": float(100 - expected),
                                      "restoreRate": 10.0}


def test_drained_bucket_is_throttled_then_restores_over_time(served, clock: Clock) -> None:
    shop, other, _ = served
    _refill(clock)
    first = shop.post(ORDER_IDS, {"n": 60}).json()
    assert first["extensions"]["cost"]["actualQueryCost"] == 62
    assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 38.0

    throttled = shop.post(ORDER_IDS, {"n": 60})
    assert throttled.status_code == 200
    body = throttled.json()
    assert "data" not in body
    assert body["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    assert body["extensions"]["cost"] == {"requestedQueryCost": 62, "actualQueryCost": None, "throttleStatus": {
        "maximumAvailable": 100.0, "currentlyAvailable": 38.0, "restoreRate": 10.0}}

    assert other.post(ORDER_IDS, {"n": 60}).json()["data"], "every shop has its own bucket"

    clock.now += 2.0  # 38 + 2 s x 10 = 58: still short of 62
    assert shop.post(ORDER_IDS, {"n": 60}).json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    clock.now += 0.5  # 63
    restored = shop.post(ORDER_IDS, {"n": 60}).json()
    assert restored["data"]["orders"]["nodes"]
    assert restored["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 1.0


def test_query_over_the_single_query_limit_is_refused(served, clock: Clock) -> None:
    shop, _, app = served
    _refill(clock)
    body = shop.post("{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }").json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 2 + 250 * 253, "maxCost": 1000,
                                   "documentation": "https://shopify.dev/api/usage/rate-limits"}
    assert error["message"].startswith("Query cost is 63252, which exceeds the single query max cost limit (1000).")
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 100.0, "nothing is charged"


def test_invalid_queries_are_answered_without_a_charge(served, clock: Clock) -> None:
    shop, _, _ = served
    _refill(clock)
    body = shop.post("{ orders(first: 1) { nodes { nope } } }").json()
    assert body["errors"][0]["extensions"]["code"] == "undefinedField"
    after = shop.post(ORDER_IDS, {"n": 1}).json()
    assert after["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 97.0


@pytest.mark.parametrize(("plan", "expected"), [("plus", (20000.0, 1000.0)), (None, (2000.0, 100.0))])
def test_each_shops_bucket_follows_its_plan(tmp_path: Path, world_dir: Path, tables: dict[str, pd.DataFrame],
                                            plan: str | None, expected: tuple[float, float]) -> None:
    """The sandbox stores are on Shopify Plus (`stores.shopify_plan`); a world without plans is on the standard plan."""
    world = tmp_path / "world"
    shutil.copytree(world_dir, world)
    assert set(tables["stores"]["shopify_plan"]) == {"plus"}
    if plan is None:
        pd.read_parquet(world / "stores.parquet").drop(columns=["shopify_plan"]).to_parquet(world / "stores.parquet")
    row = tables["stores"].iloc[0]
    with serve(create_app(world)) as base, httpx.Client(timeout=30) as http:
        status = Shop(http, base, row.shop, row.access_token).post(ORDER_IDS, {"n": 5}).json()["extensions"]["cost"]
    assert (status["throttleStatus"]["maximumAvailable"], status["throttleStatus"]["restoreRate"]) == expected
