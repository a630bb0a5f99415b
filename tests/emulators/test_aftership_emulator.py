"""The AfterShip Tracking emulator against a tiny generated sandbox; every response is parsed with the SDK's
pydantic models (`aftership-tracking-sdk` 10.0.1), so a shape drift fails the test."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn
from starlette.testclient import TestClient
from tracking.models import (
    Checkpoint,
    GetTrackingByIdResponse,
    GetTrackingsResponse,
    GetTrackingsResponseDataPagination,
    Meta,
    MetaType,
    Tag,
    Tracking,
)

from sandbox.build import advance, generate
from sandbox.emulators.aftership import create_app
from sandbox.emulators.aftership_world import api_key
from sandbox.world import load_world, world_at

SEED = 7
LIST = "/tracking/2026-07/trackings"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sandbox (generated once for this module; tests that move the clock copy it first)."""
    out = tmp_path_factory.mktemp("aftership_tiny")
    generate("tiny", SEED, out)
    return out


@pytest.fixture(scope="module")
def trackings(sandbox_dir: Path) -> pd.DataFrame:
    """The world's trackings at its clock (`world_at`), to compute expectations from."""
    return world_at(load_world(sandbox_dir / "world")).areas["fulfilment"]["trackings"]


@pytest.fixture(scope="module")
def key(sandbox_dir: Path) -> str:
    return api_key(load_world(sandbox_dir / "world"))


@pytest.fixture(scope="module")
def client(sandbox_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(sandbox_dir / "world")) as test_client:
        yield test_client


def _envelope(response: httpx.Response) -> dict[str, Any]:
    """The body, after checking the rate-limit headers and the envelope's meta (SDK `Meta`)."""
    for header in RATE_HEADERS:
        assert header in response.headers, header
    body = response.json()
    meta = Meta.model_validate(body["meta"])
    assert meta.code == (200 if response.status_code == 200 else meta.code)
    return body


def list_page(client: TestClient, key: str, **params: Any) -> GetTrackingsResponse:
    """One list page, parsed with the SDK's `GetTrackingsResponse` (fails on any validation error)."""
    response = client.get(LIST, params=params, headers={"as-api-key": key})
    assert response.status_code == 200, response.text
    parsed = GetTrackingsResponse.model_validate({"data": _envelope(response)["data"]})
    assert parsed.data is not None and parsed.data.pagination is not None
    for tracking in parsed.data.trackings or []:
        _check_tracking(tracking)
    return parsed


def _check_tracking(tracking: Tracking) -> None:
    assert isinstance(tracking.tag, Tag)
    assert tracking.subtag is not None and tracking.subtag.startswith(tracking.tag.value + "_")
    for checkpoint in tracking.checkpoints or []:
        assert isinstance(checkpoint.tag, Tag)
        assert checkpoint.subtag is not None and checkpoint.subtag.startswith(checkpoint.tag.value + "_")


def error(response: httpx.Response, status: int, kind: MetaType) -> Meta:
    """Check an error response: HTTP status, envelope, meta.type; returns the parsed meta."""
    assert response.status_code == status, response.text
    body = _envelope(response)
    assert body["data"] == {}
    meta = Meta.model_validate(body["meta"])
    assert meta.type == kind and meta.message
    return meta


def walk(client: TestClient, key: str, cursor: str | None = None, **params: Any) -> list[Tracking]:
    """Every tracking of a cursor walk from `cursor` (also checks has_next_page on every page, and the total
    when the walk started at the first page)."""
    out: list[Tracking] = []
    from_start = cursor is None
    while True:
        page = list_page(client, key, **params, **({"cursor": cursor} if cursor else {}))
        assert page.data is not None and page.data.pagination is not None
        out.extend(page.data.trackings or [])
        pagination = page.data.pagination
        assert pagination.has_next_page == (pagination.next_cursor is not None)
        if not pagination.has_next_page:
            assert pagination.total == len(out) or not from_start
            return out
        cursor = pagination.next_cursor


def _stamp(value: pd.Timestamp) -> str:
    return value.floor("s").isoformat()


# ------------------------------------------------------------------------------------------------ listing


def test_full_walk_serves_every_tracking_once(client: TestClient, key: str, trackings: pd.DataFrame) -> None:
    served = walk(client, key, limit=7)
    ids = [t.id for t in served]
    assert len(ids) == len(set(ids)) == len(trackings)
    assert set(ids) == set(trackings["tracking_id"])
    keys = [(t.updated_at, t.id) for t in served]
    assert keys == sorted(keys)


def test_tracking_fields_match_the_world(client: TestClient, key: str, trackings: pd.DataFrame) -> None:
    served = {t.id: t for t in walk(client, key, limit=200)}
    for row in trackings.itertuples():
        t = served[row.tracking_id]
        assert (t.tracking_number, t.slug, t.order_number, t.order_id) == (
            row.tracking_number, row.slug, row.order_number, str(row.order_id))
        assert t.tag is not None and (t.tag.value, t.subtag, t.subtag_message) == (
            row.tag, row.subtag, row.subtag_message)
        assert t.updated_at == _stamp(row.updated_at) and t.created_at == _stamp(row.created_at)
        assert (t.shipment_delivery_date is None) == pd.isna(row.shipment_delivery_date)
        assert (t.first_estimated_delivery is None) == (row.first_estimated_delivery is None)


def test_rendered_keys_are_sdk_fields(client: TestClient, key: str) -> None:
    """pydantic ignores unknown keys, so check that every key served is a field of the SDK's models."""
    body = client.get(LIST, params={"limit": 200}, headers={"as-api-key": key}).json()
    assert set(body) == {"meta", "data"} and set(body["meta"]) <= set(Meta.model_fields)
    assert set(body["data"]) == {"pagination", "trackings"}
    assert set(body["data"]["pagination"]) == set(GetTrackingsResponseDataPagination.model_fields)
    for tracking in body["data"]["trackings"]:
        assert set(tracking) <= set(Tracking.model_fields)
        for checkpoint in tracking["checkpoints"]:
            assert set(checkpoint) <= set(Checkpoint.model_fields)


def test_checkpoints_stop_at_the_clock(client: TestClient, key: str, sandbox_dir: Path) -> None:
    world = world_at(load_world(sandbox_dir / "world"))
    checkpoints = world.areas["fulfilment"]["checkpoints"].groupby("tracking_id").size()
    served = walk(client, key, limit=200)
    clock = pd.Timestamp(world.meta["as_of"])
    for t in served:
        assert len(t.checkpoints or []) == checkpoints.get(t.id, 0)
        assert all(pd.Timestamp(c.checkpoint_time) <= clock for c in t.checkpoints or [])


def test_last_page_and_limits(client: TestClient, key: str, trackings: pd.DataFrame) -> None:
    default = list_page(client, key)
    assert default.data is not None and len(default.data.trackings or []) == min(100, len(trackings))
    assert default.data.pagination is not None and default.data.pagination.total == len(trackings)
    for limit in (0, 201, -3, "x"):
        response = client.get(LIST, params={"limit": limit}, headers={"as-api-key": key})
        meta = error(response, 400, MetaType.BAD_REQUEST)
        assert meta.code == 4008


def test_bad_cursor_is_an_error(client: TestClient, key: str) -> None:
    for cursor in ("not-a-cursor", "WzEsMl0"):
        error(client.get(LIST, params={"cursor": cursor}, headers={"as-api-key": key}), 400, MetaType.BAD_REQUEST)
    first = list_page(client, key, limit=3, slug="dhl")
    assert first.data is not None and first.data.pagination is not None
    other_filters = {"cursor": first.data.pagination.next_cursor, "limit": 3, "slug": "ups"}
    error(client.get(LIST, params=other_filters, headers={"as-api-key": key}), 400, MetaType.BAD_REQUEST)


def test_updated_at_min_returns_exactly_the_trackings_updated_since(client: TestClient, key: str,
                                                                    trackings: pd.DataFrame) -> None:
    updated = trackings["updated_at"].dt.floor("s")
    since = updated.sort_values().iloc[len(updated) * 2 // 3]
    served = walk(client, key, limit=50, updated_at_min=since.isoformat())
    assert {t.id for t in served} == set(trackings.loc[updated >= since, "tracking_id"])
    until = since + pd.Timedelta(days=2)
    served = walk(client, key, limit=50, updated_at_min=since.isoformat(), updated_at_max=until.isoformat())
    assert {t.id for t in served} == set(trackings.loc[(updated >= since) & (updated <= until), "tracking_id"])


def test_filters(client: TestClient, key: str, trackings: pd.DataFrame) -> None:
    created = trackings["created_at"].dt.floor("s")
    since = created.sort_values().iloc[len(created) // 2]
    assert {t.id for t in walk(client, key, limit=200, created_at_min=since.isoformat())} == set(
        trackings.loc[created >= since, "tracking_id"])
    for tag in trackings["tag"].unique():
        served = walk(client, key, limit=200, tag=tag)
        assert len(served) == (trackings["tag"] == tag).sum() and all(t.tag == Tag(tag) for t in served)
    slug = trackings["slug"].iloc[0]
    assert len(walk(client, key, limit=200, slug=slug)) == (trackings["slug"] == slug).sum()
    numbers = trackings["tracking_number"].iloc[:3].tolist()
    assert {t.tracking_number for t in walk(client, key, tracking_numbers=",".join(numbers))} == set(numbers)
    order_id = str(trackings["order_id"].iloc[5])
    assert {t.order_id for t in walk(client, key, order_id=order_id)} == {order_id}
    keyword = trackings["tracking_number"].iloc[4]
    assert [t.tracking_number for t in walk(client, key, keyword=keyword.lower())] == [keyword]
    error(client.get(LIST, params={"tag": "Lost"}, headers={"as-api-key": key}), 400, MetaType.BAD_REQUEST)
    error(client.get(LIST, params={"updated_at_min": "yesterday"}, headers={"as-api-key": key}), 400,
          MetaType.BAD_REQUEST)


# ------------------------------------------------------------------------------------------------ single, auth


def test_single_tracking_and_unknown_id(client: TestClient, key: str, trackings: pd.DataFrame) -> None:
    tid = trackings["tracking_id"].iloc[10]
    response = client.get(f"{LIST}/{tid}", headers={"as-api-key": key})
    assert response.status_code == 200
    parsed = GetTrackingByIdResponse.model_validate({"data": _envelope(response)["data"]})
    assert parsed.data is not None and parsed.data.id == tid
    _check_tracking(parsed.data)
    meta = error(client.get(f"{LIST}/{'0' * 32}", headers={"as-api-key": key}), 404, MetaType.NOT_FOUND)
    assert meta.code == 4004
    error(client.get("/tracking/2023-10/trackings", headers={"as-api-key": key}), 404, MetaType.NOT_FOUND)


def test_auth_failures(client: TestClient, key: str, trackings: pd.DataFrame) -> None:
    for headers in ({}, {"as-api-key": "wrong"}, {"as-api-key": key + "x"}):
        meta = error(client.get(LIST, headers=headers), 401, MetaType.UNAUTHORIZED)
        assert meta.code == 401
    error(client.get(f"{LIST}/{trackings['tracking_id'].iloc[0]}"), 401, MetaType.UNAUTHORIZED)


def test_stats(client: TestClient, key: str) -> None:
    assert client.post("/__stats/reset").json() == {"ok": True}
    list_page(client, key, limit=5)
    client.get(LIST)
    stats = client.get("/__stats").json()
    assert stats["by_status"] == {"200": 1, "401": 1}
    assert stats["stores"]["portfolio"]["root_fields"]["trackings"] == {"calls": 1, "objects": 5}


# ------------------------------------------------------------------------------------------------ rate limit


def test_rate_limiter(sandbox_dir: Path, key: str) -> None:
    now = [1_000.25]
    app = create_app(sandbox_dir / "world", rate_limit_per_second=3, clock=lambda: now[0])
    with TestClient(app) as limited:
        remaining = [int(list_page_response(limited, key).headers["X-RateLimit-Remaining"]) for _ in range(3)]
        assert remaining == [2, 1, 0]
        refused = limited.get(LIST, params={"limit": 1}, headers={"as-api-key": key})
        meta = error(refused, 429, MetaType.TOO_MANY_REQUESTS)
        assert meta.code == 429
        assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Reset"] == "1001"
        by_id = limited.get(f"{LIST}/{'0' * 32}", headers={"as-api-key": key})
        error(by_id, 404, MetaType.NOT_FOUND)
        assert by_id.headers["X-RateLimit-Remaining"] == "2", "each endpoint has its own window"
        error(limited.get(LIST), 401, MetaType.UNAUTHORIZED)
        now[0] = 1_001.0
        assert list_page_response(limited, key).headers["X-RateLimit-Remaining"] == "2"


def list_page_response(client: TestClient, key: str) -> httpx.Response:
    response = client.get(LIST, params={"limit": 1}, headers={"as-api-key": key})
    assert response.status_code == 200
    GetTrackingsResponse.model_validate({"data": _envelope(response)["data"]})
    return response


# ------------------------------------------------------------------------------------------------ the clock


def test_advance_shows_new_trackings_without_restart(sandbox_dir: Path, key: str,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "sandbox"
    shutil.copytree(sandbox_dir, out)
    with TestClient(create_app(out / "world")) as moving:
        before = {t.id: t for t in walk(moving, key, limit=200)}
        high_water = max(t.updated_at for t in before.values() if t.updated_at)
        first = list_page(moving, key, limit=50)
        assert first.data is not None and first.data.pagination is not None
        cursor = first.data.pagination.next_cursor
        time.sleep(0.01)
        advance(out, 3)
        after = {t.id: t for t in walk(moving, key, limit=200)}
        truth = world_at(load_world(out / "world")).areas["fulfilment"]
        assert set(after) == set(truth["trackings"]["tracking_id"])
        assert set(after) > set(before)
        changed = {i for i in before if before[i].subtag != after[i].subtag}
        assert changed, "three days later some parcels moved on"
        assert sum(len(t.checkpoints or []) for t in after.values()) == len(truth["checkpoints"])
        incremental = walk(moving, key, limit=25, updated_at_min=high_water)
        assert {t.id for t in incremental} >= (set(after) - set(before)) | changed
        # a walk that started before the clock moved finishes without repeating an object
        rest = walk(moving, key, limit=50, cursor=cursor) if cursor else []
        seen = [t.id for t in (first.data.trackings or [])] + [t.id for t in rest]
        assert len(seen) == len(set(seen))


# ------------------------------------------------------------------------------------------------ the SDK


@pytest.fixture(scope="module")
def served_url(sandbox_dir: Path) -> Iterator[str]:
    """The emulator under uvicorn on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(create_app(sandbox_dir / "world"), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=asyncio.run, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def test_sdk_client_lists_trackings(served_url: str, key: str, trackings: pd.DataFrame) -> None:
    from tracking import Client, Configuration
    from tracking.exceptions import NotFoundError, UnauthorizedError

    sdk = Client(Configuration(domain=served_url, api_key=key, max_retry=0))
    result = sdk.tracking.get_trackings(limit=200)
    assert result.data is not None and result.data.pagination is not None
    assert result.data.pagination.total == len(trackings)
    seen = [t.id for t in result.data.trackings or []]
    while result.data.pagination.has_next_page:
        result = sdk.tracking.get_trackings(limit=200, cursor=result.data.pagination.next_cursor)
        assert result.data is not None and result.data.pagination is not None
        seen.extend(t.id for t in result.data.trackings or [])
    assert sorted(seen) == sorted(trackings["tracking_id"])
    one = sdk.tracking.get_tracking_by_id(seen[0])
    assert one.data is not None and one.data.id == seen[0]
    with pytest.raises(NotFoundError):
        sdk.tracking.get_tracking_by_id("f" * 32)
    with pytest.raises(UnauthorizedError):
        Client(Configuration(domain=served_url, api_key="nope", max_retry=0)).tracking.get_trackings()
