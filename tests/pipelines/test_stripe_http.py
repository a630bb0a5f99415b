"""The Stripe source against a scripted local server: 429/5xx retried (Retry-After honoured), overlapping pages
never duplicate rows, and the secret key never shows up in errors or logs."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path

import dlt
import duckdb
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipelines.sources.stripe import stripe_source
from tests.emulators.helpers import serve

KEY = "sk_test_do_not_leak_123"
ACCOUNTS = [{"brand": "Lumen", "account_id": "acct_1"}]


def _charge(n: int) -> dict:
    return {"id": f"ch_{n}", "object": "charge", "created": 1_790_000_000 + n, "amount": 100 * n, "currency": "usd",
            "status": "succeeded", "payment_method_details": {"card": {"brand": "visa"}},
            "metadata": {"shopify_order": f"#{n}", "shopify_shop": "lumen-us.myshopify.com"}}


def _page(objects: list[dict], has_more: bool) -> JSONResponse:
    return JSONResponse({"object": "list", "data": objects, "has_more": has_more, "url": "/v1/x"})


def scripted_app(script: list[int], retry_after: str | None = None) -> tuple[Starlette, dict]:
    """`/v1/charges` answers the HTTP statuses of `script` first, then two pages that overlap by one object
    (`ch_3` on both, as when an object is created between two page requests); every other list is empty."""
    calls: dict = defaultdict(list)

    async def charges(request: Request) -> JSONResponse:
        calls["charges"].append((time.monotonic(), dict(request.query_params), request.headers.get("authorization")))
        if len(calls["charges"]) <= len(script):
            headers = {"Retry-After": retry_after} if retry_after else {}
            status = script[len(calls["charges"]) - 1]
            return JSONResponse({"error": {"type": "api_error", "message": "try later"}}, status, headers=headers)
        if request.query_params.get("starting_after") == "ch_3":
            return _page([_charge(3), _charge(2), _charge(1)], has_more=False)
        return _page([_charge(5), _charge(4), _charge(3)], has_more=True)

    async def empty(request: Request) -> JSONResponse:
        return _page([], has_more=False)

    routes = [Route("/v1/charges", charges)] + [
        Route(f"/v1/{name}", empty) for name in ("refunds", "disputes", "balance_transactions", "payment_intents",
                                                  "events")]
    return Starlette(routes=routes), calls


def _load(base_url: str, root: Path, **kwargs) -> Path:
    path = root / "w.duckdb"
    pipeline = dlt.pipeline(pipeline_name="test_stripe_http", destination=dlt.destinations.duckdb(str(path)),
                            dataset_name="raw_stripe", pipelines_dir=str(root / "dlt"))
    pipeline.run(stripe_source(accounts=ACCOUNTS, api_keys={"lumen": KEY}, base_url=base_url, **kwargs))
    return path


def test_retries_429_and_5xx_honouring_retry_after_and_pages_never_duplicate(tmp_path: Path) -> None:
    app, calls = scripted_app([429, 503, 500], retry_after="1")
    with serve(app) as base_url:
        path = _load(base_url, tmp_path, max_attempts=5, backoff_factor=0.01)
    stamps = [c[0] for c in calls["charges"]]
    assert len(stamps) == 5, "three failures retried, then two pages"
    assert all(b - a >= 0.9 for a, b in zip(stamps[:3], stamps[1:4])), "waited Retry-After (1 s) each time"
    assert calls["charges"][4][1]["starting_after"] == "ch_3"
    assert all(c[2] == f"Bearer {KEY}" for c in calls["charges"])
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select id, account_id, brand, amount from raw_stripe.charges order by id").fetchall()
    finally:
        con.close()
    assert rows == [(f"ch_{n}", "acct_1", "Lumen", 100 * n) for n in range(1, 6)], "ch_3 came twice, loaded once"


def test_gives_up_after_the_retry_budget_without_leaking_the_key(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    app, calls = scripted_app([500] * 10)
    caplog.set_level(logging.DEBUG)
    with serve(app) as base_url, pytest.raises(Exception) as failure:
        _load(base_url, tmp_path, max_attempts=3, backoff_factor=0.01)
    assert len(calls["charges"]) == 3
    text = "".join(str(e) for e in [failure.value, failure.value.__cause__, failure.value.__context__])
    assert "500" in text
    assert KEY not in text and KEY not in caplog.text
