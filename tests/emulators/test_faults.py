"""Fault injection of the four emulators (sandbox.emulators.faults), `/__control` and the shared `/__stats`."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.emulators import aftership, reamaze, shopify
from sandbox.emulators import stripe as stripe_emulator
from sandbox.emulators.aftership_world import api_key_from_meta
from sandbox.emulators.faults import ADDITIVE_FIELD, ENV_VAR, Faults, draw
from sandbox.world import load_world
from tests.emulators.helpers import serve

ORDERS = """query Orders($after: String) {
  orders(first: 10, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes { id name totalShippingPriceSet { shopMoney { amount currencyCode } } }
  }
}"""


@dataclass
class Api:
    """How to page through one emulator's main list: request a page, read its records and the next cursor."""

    name: str
    base_url: str
    endpoint: str  # the /__stats endpoint name of the list
    request: Callable[[httpx.Client, str, Any], httpx.Response]
    records: Callable[[dict[str, Any]], list[dict[str, Any]]]
    next_page: Callable[[dict[str, Any], Any], Any]
    drifted: Callable[[dict[str, Any]], bool]  # the record shows the breaking drift
    error_ok: Callable[[int, dict[str, Any]], bool]  # the body is the API's own error shape

    def page(self, http: httpx.Client, cursor: Any = None) -> httpx.Response:
        return self.request(http, self.base_url, cursor)

    def walk(self, http: httpx.Client, limit: int = 6) -> list[list[dict[str, Any]]]:
        """Up to `limit` pages of records, from the first page on."""
        pages, cursor = [], None
        while len(pages) < limit:
            response = self.page(http, cursor)
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append(self.records(body))
            cursor = self.next_page(body, cursor)
            if cursor is None:
                break
        return pages


def _apis(world_dir: Path, urls: dict[str, str]) -> dict[str, Api]:
    world = load_world(world_dir)
    store = world.stores.iloc[0]
    account = world.areas["payments"]["stripe_accounts"].iloc[0]
    staff = world.areas["support"]["staff"].iloc[0]
    brand = staff["brand"].lower()
    basic = base64.b64encode(f"{staff['email']}:{staff['api_token']}".encode()).decode()
    tracking_key = api_key_from_meta(world.meta)

    def shopify_request(http: httpx.Client, base: str, cursor: Any) -> httpx.Response:
        return http.post(f"{base}/shops/{store['shop']}/admin/api/2026-07/graphql.json",
                         json={"query": ORDERS, "variables": {"after": cursor}},
                         headers={"X-Shopify-Access-Token": store["access_token"]})

    def shopify_next(body: dict[str, Any], _cursor: Any) -> Any:
        info = body["data"]["orders"]["pageInfo"]
        return info["endCursor"] if info["hasNextPage"] else None

    def stripe_request(http: httpx.Client, base: str, cursor: Any) -> httpx.Response:
        params = {"limit": 10, **({"starting_after": cursor} if cursor else {})}
        return http.get(f"{base}/v1/charges", params=params,
                        headers={"Authorization": f"Bearer {account['secret_key']}"})

    def reamaze_request(http: httpx.Client, base: str, cursor: Any) -> httpx.Response:
        return http.get(f"{base}/brands/{brand}/api/v1/conversations", params={"filter": "all", "page": cursor or 1},
                        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})

    def aftership_request(http: httpx.Client, base: str, cursor: Any) -> httpx.Response:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        return http.get(f"{base}/tracking/2026-07/trackings", params=params, headers={"as-api-key": tracking_key})

    return {
        "shopify": Api(
            "shopify", urls["shopify"], "orders", shopify_request,
            lambda b: b["data"]["orders"]["nodes"], shopify_next,
            lambda r: isinstance(r["totalShippingPriceSet"]["shopMoney"]["amount"], dict),
            lambda status, b: isinstance(b.get("errors"), str)),
        "stripe": Api(
            "stripe", urls["stripe"], "GET /v1/charges", stripe_request,
            lambda b: b["data"], lambda b, _c: b["data"][-1]["id"] if b["has_more"] else None,
            lambda r: isinstance(r["amount"], dict) and isinstance(r["amount"]["value"], int),
            lambda status, b: b["error"].get("code") == "rate_limit" if status == 429
            else b["error"]["type"] == "api_error"),
        "reamaze": Api(
            "reamaze", urls["reamaze"], "conversations", reamaze_request,
            lambda b: b["conversations"], lambda b, c: (c or 1) + 1 if (c or 1) < b["page_count"] else None,
            lambda r: isinstance(r["created_at"], dict),
            lambda status, b: isinstance(b.get("error"), str)),
        "aftership": Api(
            "aftership", urls["aftership"], "trackings", aftership_request,
            lambda b: b["data"]["trackings"],
            lambda b, _c: b["data"]["pagination"]["next_cursor"] if b["data"]["pagination"]["has_next_page"]
            else None,
            lambda r: isinstance(r["created_at"], dict),
            lambda status, b: b["meta"]["code"] == status and b["data"] == {}),
    }


# fault tests walk whole lists: the Shopify cost bucket (tested in test_shopify_cost.py) must not refuse them
FACTORIES = {"shopify": partial(shopify.create_app, cost_limits=False),
             "stripe": stripe_emulator.create_app, "reamaze": reamaze.create_app,
             "aftership": aftership.create_app}
API_NAMES = list(FACTORIES)


@pytest.fixture(scope="module")
def apis(world_dir: Path) -> Iterator[dict[str, Api]]:
    """The four emulators of the tiny world, each served on its own port."""
    with serve(FACTORIES["shopify"](world_dir)) as s, serve(FACTORIES["stripe"](world_dir)) as p, \
            serve(FACTORIES["reamaze"](world_dir)) as r, serve(FACTORIES["aftership"](world_dir)) as a:
        yield _apis(world_dir, {"shopify": s, "stripe": p, "reamaze": r, "aftership": a})


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(params=API_NAMES)
def api(request: pytest.FixtureRequest, apis: dict[str, Api], http: httpx.Client) -> Iterator[Api]:
    """One emulator, its faults and counters reset before and after the test."""
    chosen = apis[request.param]
    assert http.post(f"{chosen.base_url}/__control", json={"reset": True, "reset_stats": True}).status_code == 200
    yield chosen
    http.post(f"{chosen.base_url}/__control", json={"reset": True, "reset_stats": True})


def control(http: httpx.Client, api: Api, **settings: Any) -> dict[str, Any]:
    response = http.post(f"{api.base_url}/__control", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [str(r.get("id", r.get("slug"))) for r in records]


# ------------------------------------------------------------------------------------------ control, defaults


def test_faults_are_off_by_default(api: Api, http: httpx.Client) -> None:
    state = http.get(f"{api.base_url}/__control").json()
    assert state["active"] is False and state["injected"] == {}
    assert all(v == 0 for k, v in state["faults"].items() if k not in {"retry_after"})
    pages = api.walk(http, limit=3)
    assert all(ADDITIVE_FIELD not in r and not api.drifted(r) for page in pages for r in page)


def test_control_round_trip(api: Api, http: httpx.Client) -> None:
    state = control(http, api, rate_limit=0.25, seed=9, delay_ms=5)
    assert state["active"] is True
    assert state["faults"]["rate_limit"] == 0.25 and state["faults"]["seed"] == 9
    assert state["sources"]["control"] == {"rate_limit": 0.25, "seed": 9, "delay_ms": 5}
    assert http.get(f"{api.base_url}/__control").json()["faults"] == state["faults"]
    bad = http.post(f"{api.base_url}/__control", json={"rate_limt": 0.1})
    assert bad.status_code == 400 and "rate_limt" in bad.json()["error"]
    assert http.post(f"{api.base_url}/__control", json={"truncate": 2}).status_code == 400
    assert control(http, api, reset=True)["faults"]["rate_limit"] == 0


def test_settings_from_meta_and_environment(world_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = Path(shutil.copytree(world_dir, tmp_path / "world"))
    meta = json.loads((world / "meta.json").read_text())
    meta["faults"] = {"stripe": {"duplicates": 1.0, "seed": 4}}
    (world / "meta.json").write_text(json.dumps(meta))
    monkeypatch.setenv(ENV_VAR, json.dumps({"stripe": {"rate_limit": 0.5}, "shopify": {"truncate": 0.1}}))
    stripe_faults = Faults("stripe", world)
    config = stripe_faults.config()
    assert (config.duplicates, config.seed, config.rate_limit) == (1.0, 4, 0.5)
    stripe_faults.set({"rate_limit": 0.0})
    assert stripe_faults.config().rate_limit == 0.0 and stripe_faults.config().duplicates == 1.0
    assert Faults("shopify", world).config().truncate == 0.1
    monkeypatch.setenv(ENV_VAR, json.dumps({"stripe": {"nope": 1}}))
    with pytest.raises(ValueError, match="nope"):
        Faults("stripe", world)


# ------------------------------------------------------------------------------------------ request-level faults


@pytest.mark.parametrize("fault,status", [("rate_limit", 429), ("server_error", None)])
def test_error_faults_answer_with_the_api_shape(api: Api, http: httpx.Client, fault: str, status: int | None) -> None:
    control(http, api, **{fault: 1.0, "retry_after": 3})
    response = api.page(http)
    assert response.status_code == (status or response.status_code) and response.status_code >= 429
    if status is None:
        assert response.status_code >= 500
    assert api.error_ok(response.status_code, response.json()), response.text
    assert response.headers["retry-after"] == "3"
    if api.name == "aftership" and fault == "rate_limit":
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert {"x-ratelimit-limit", "x-ratelimit-reset"} <= set(response.headers)
    if api.name == "stripe":
        assert response.headers["stripe-should-retry"] == "true"
    stats = http.get(f"{api.base_url}/__stats").json()
    assert stats["faults"] == {fault: 1} and stats["by_status"] == {str(response.status_code): 1}


def test_slow_responses_are_delayed(api: Api, http: httpx.Client) -> None:
    control(http, api, slow=1.0, delay_ms=300)
    started = time.perf_counter()
    assert api.page(http).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_truncated_body_is_shorter_than_promised(api: Api, http: httpx.Client) -> None:
    full = len(api.page(http).content)
    control(http, api, truncate=1.0)
    with pytest.raises(httpx.RemoteProtocolError) as cut:
        api.page(http)
    assert f"expected {full}" in str(cut.value), "the full Content-Length was promised"
    assert http.get(f"{api.base_url}/__control").json()["injected"] == {"truncate": 1}


def test_a_retrying_walk_gets_every_record_despite_faults(api: Api, http: httpx.Client) -> None:
    clean = [r for page in api.walk(http) for r in page]
    control(http, api, rate_limit=0.4, server_error=0.3, seed=5)
    pages, cursor, failures = [], None, 0
    while len(pages) < 6:
        response = api.page(http, cursor)
        if response.status_code != 200:
            failures += 1
            assert failures < 100
            continue
        body = response.json()
        pages.append(api.records(body))
        cursor = api.next_page(body, cursor)
        if cursor is None:
            break
    assert failures > 0
    assert ids([r for page in pages for r in page]) == ids(clean)


# ------------------------------------------------------------------------------------------ record-level faults


def test_duplicates_repeat_the_last_record_of_the_page_before(api: Api, http: httpx.Client) -> None:
    clean = api.walk(http)
    assert len(clean) >= 2, "the walk needs several pages"
    control(http, api, duplicates=1.0, seed=1)
    pages = api.walk(http)
    assert len(pages) == len(clean)
    for before, page, clean_page in zip(pages, pages[1:], clean[1:], strict=False):
        assert ids(page) == ids(before[-1:]) + ids(clean_page)
    assert ids(pages[0]) == ids(clean[0])
    assert http.get(f"{api.base_url}/__control").json()["injected"] == {"duplicates": len(pages) - 1}


def test_additive_drift_adds_an_unknown_field(api: Api, http: httpx.Client) -> None:
    control(http, api, drift_additive=1.0)
    records = [r for page in api.walk(http, limit=2) for r in page]
    assert records and all(ADDITIVE_FIELD in r and not api.drifted(r) for r in records)


def test_breaking_drift_changes_a_field_type(api: Api, http: httpx.Client) -> None:
    control(http, api, drift_breaking=1.0)
    records = [r for page in api.walk(http, limit=2) for r in page]
    assert records and all(api.drifted(r) for r in records)


# ------------------------------------------------------------------------------------------ determinism


def test_request_faults_are_deterministic_from_the_seed(api: Api, http: httpx.Client) -> None:
    cursors = [None, _cursor_of(api, http, 1)] * 10
    runs = []
    for seed in (11, 11, 12):
        control(http, api, reset=True)
        control(http, api, rate_limit=0.5, seed=seed)
        runs.append([api.page(http, c).status_code for c in cursors])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert set(runs[0]) == {200, 429}


def test_record_faults_are_deterministic_from_the_seed(api: Api, http: httpx.Client) -> None:
    runs = []
    for seed in (3, 3, 4):
        control(http, api, reset=True)
        control(http, api, drift_additive=0.5, drift_breaking=0.3, seed=seed)
        records = [r for page in api.walk(http, limit=3) for r in page]
        runs.append(([i for i, r in zip(ids(records), records, strict=True) if ADDITIVE_FIELD in r],
                     [i for i, r in zip(ids(records), records, strict=True) if api.drifted(r)]))
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert 0 < len(runs[0][0]) < len(ids(records)) and runs[0][1]


def _cursor_of(api: Api, http: httpx.Client, page: int) -> Any:
    cursor = None
    for _ in range(page):
        cursor = api.next_page(api.page(http, cursor).json(), cursor)
    assert cursor is not None
    return cursor


def test_draw_is_a_pure_function() -> None:
    assert draw(1, "stripe", "rate_limit", "k") == draw(1, "stripe", "rate_limit", "k")
    assert draw(1, "stripe", "rate_limit", "k") != draw(2, "stripe", "rate_limit", "k")
    shares = [draw(3, "shopify", "duplicates", str(i)) < 0.3 for i in range(2000)]
    assert 0.25 < sum(shares) / len(shares) < 0.35


# ------------------------------------------------------------------------------------------ stats


def test_stats_count_requests_and_objects_per_endpoint(api: Api, http: httpx.Client) -> None:
    pages = api.walk(http, limit=3)
    stats = http.get(f"{api.base_url}/__stats").json()
    assert stats["endpoints"][api.endpoint] == {"requests": len(pages), "objects": sum(map(len, pages))}
    assert stats["requests"] == len(pages) and stats["by_status"] == {"200": len(pages)}
    assert stats["objects"] == sum(map(len, pages))
    assert http.post(f"{api.base_url}/__stats").json() == {"ok": True}
    assert http.get(f"{api.base_url}/__stats").json()["requests"] == 0
    api.walk(http, limit=1)
    control(http, api, reset_stats=True)
    assert http.get(f"{api.base_url}/__stats").json()["endpoints"] == {}


# ------------------------------------------------------------------------------------------ official clients


def test_stripe_client_retries_through_injected_429s(apis: dict[str, Api], http: httpx.Client, world_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stripe = pytest.importorskip("stripe")
    from stripe._http_client import HTTPClient

    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0.05)
    api = apis["stripe"]
    key = load_world(world_dir).areas["payments"]["stripe_accounts"].iloc[0]["secret_key"]
    control(http, api, reset=True, reset_stats=True)
    clean = stripe.StripeClient(key, base_addresses={"api": api.base_url}, max_network_retries=0)
    expected = [c.id for c in clean.v1.charges.list({"limit": 10}).auto_paging_iter()]
    control(http, api, rate_limit=0.4, server_error=0.1, seed=2)
    try:
        client = stripe.StripeClient(key, base_addresses={"api": api.base_url}, max_network_retries=8)
        got = [c.id for c in client.v1.charges.list({"limit": 10}).auto_paging_iter()]
        injected = http.get(f"{api.base_url}/__control").json()["injected"]
    finally:
        control(http, api, reset=True, reset_stats=True)
    assert got == expected
    assert injected.get("rate_limit", 0) > 0


def test_dlt_client_honours_retry_after(apis: dict[str, Api], http: httpx.Client, world_dir: Path) -> None:
    from dlt.sources.helpers.requests import Client

    api = apis["stripe"]
    key = load_world(world_dir).areas["payments"]["stripe_accounts"].iloc[0]["secret_key"]
    request_key = "GET /v1/charges?limit=3|"  # the first attempt is refused, the retry served
    seed = next(s for s in range(1000) if draw(s, "stripe", "rate_limit", f"{request_key}#0") < 0.5
                <= draw(s, "stripe", "rate_limit", f"{request_key}#1"))
    control(http, api, reset=True, reset_stats=True)
    control(http, api, rate_limit=0.5, retry_after=2, seed=seed)
    try:
        session = Client(request_max_attempts=3, request_backoff_factor=0.01).session
        started = time.perf_counter()
        response = session.get(f"{api.base_url}/v1/charges?limit=3", headers={"Authorization": f"Bearer {key}"})
        elapsed = time.perf_counter() - started
        injected = http.get(f"{api.base_url}/__control").json()["injected"]
    finally:
        control(http, api, reset=True, reset_stats=True)
    assert response.status_code == 200 and len(response.json()["data"]) == 3
    assert injected == {"rate_limit": 1}
    assert elapsed >= 1.9, "the client waited the announced Retry-After (2 s), not its own 0.01 s backoff"
