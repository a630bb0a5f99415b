"""The API defects of `leakwatch sandbox generate --defect`: duplicate_records and schema_drift are produced by
the emulators of a sandbox generated with them (and absent without them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.build import DEFECTS, generate
from sandbox.emulators.server import EmulatorHandle, start_background_thread
from sandbox.world import load_world

ORDERS = """query($after: String) { orders(first: 20, after: $after, sortKey: ID) {
  pageInfo { hasNextPage endCursor } nodes { id totalShippingPriceSet { shopMoney { amount } } } } }"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("defects")
    summary = generate("tiny", 7, out, defects=("duplicate_records", "schema_drift"))
    assert summary["defects"] == {"duplicate_records": "shopify, stripe", "schema_drift": "stripe"}
    return out


@pytest.fixture(scope="module")
def emulators(sandbox: Path) -> Iterator[EmulatorHandle]:
    handle = start_background_thread(sandbox / "world")
    yield handle
    handle.stop()


def _stripe_walk(http: httpx.Client, base: str, key: str) -> list[dict[str, Any]]:
    charges: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 25}
    while True:
        body = http.get(f"{base}/v1/charges", params=params, headers={"Authorization": f"Bearer {key}"}).json()
        charges += body["data"]
        if not body["has_more"]:
            return charges
        params["starting_after"] = body["data"][-1]["id"]


def _shopify_walk(http: httpx.Client, base: str, shop: str, token: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    after = None
    while True:
        body = http.post(f"{base}/shops/{shop}/admin/api/2026-07/graphql.json",
                         json={"query": ORDERS, "variables": {"after": after}},
                         headers={"X-Shopify-Access-Token": token}).json()
        orders += body["data"]["orders"]["nodes"]
        info = body["data"]["orders"]["pageInfo"]
        if not info["hasNextPage"]:
            return orders
        after = info["endCursor"]


def test_the_defects_are_switched_on_by_name(sandbox: Path) -> None:
    assert {"duplicate_records", "schema_drift"} <= set(DEFECTS)
    meta = json.loads((sandbox / "world" / "meta.json").read_text())
    assert meta["defects"] == ["duplicate_records", "schema_drift"]
    assert meta["faults"] == {"shopify": {"seed": 7, "duplicates": 1.0},
                              "stripe": {"seed": 7, "duplicates": 1.0, "drift_breaking": 1.0}}


def test_duplicate_records_are_served_twice(sandbox: Path, emulators: EmulatorHandle) -> None:
    world = load_world(sandbox / "world")
    account = world.areas["payments"]["stripe_accounts"].iloc[0]
    store = world.stores.iloc[0]
    with httpx.Client(timeout=30) as http:
        charges = [c["id"] for c in _stripe_walk(http, emulators.base_urls["stripe"], account["secret_key"])]
        orders = [o["id"] for o in _shopify_walk(http, emulators.base_url, store["shop"], store["access_token"])]
    for served in (charges, orders):
        assert len(served) > len(set(served)) > 25, "some records arrive twice"
    expected_charges = world.areas["payments"]["charges"]
    assert len(set(charges)) <= len(expected_charges)


def test_schema_drift_breaks_the_stripe_amount(sandbox: Path, emulators: EmulatorHandle) -> None:
    world = load_world(sandbox / "world")
    account = world.areas["payments"]["stripe_accounts"].iloc[0]
    with httpx.Client(timeout=30) as http:
        charges = _stripe_walk(http, emulators.base_urls["stripe"], account["secret_key"])
    assert charges and all(isinstance(c["amount"], dict) and set(c["amount"]) == {"value", "currency"}
                           for c in charges)

