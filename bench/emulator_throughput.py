"""Emulator throughput (issue 5 "Speed"): a raw httpx page-walk of every Shopify order, Stripe charge,
Re:amaze conversation and AfterShip tracking of a preset's world, the emulators running in a separate process.

Each walk is sequential (one connection, as an extractor pages): Shopify `orders(first: 250, after:)` with the
pipeline's own orders query (pipelines/sources/shopify/queries/orders.graphql) per store, Stripe
`/v1/charges?limit=100&starting_after=` per account, Re:amaze `/conversations?filter=all&page=` (30 a page) per
brand, AfterShip `/trackings?limit=200&cursor=`. Objects = top-level records served (orders, charges,
conversations, trackings); the goal is 20,000 objects/s over all four walks together. For Shopify the table also
gives the rows the extractor takes from the same pages ("with nested": orders + line items + transactions +
refunds + refund line items), since one order carries several of them.

Usage: uv run python bench/emulator_throughput.py [preset ...]   (default demo) → bench/results/emulator_throughput.md
"""

from __future__ import annotations

import base64
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.emulators.aftership_world import api_key_from_meta  # noqa: E402
from sandbox.emulators.shopify import COST_LIMITS_ENV  # noqa: E402
from sandbox.world import load_world  # noqa: E402
from sandbox.world.generate import generate_world  # noqa: E402

GOAL_OBJECTS_PER_S = 20_000
SEED = 7
RESULTS = Path(__file__).parent / "results" / "emulator_throughput.md"
ORDERS_QUERY = (ROOT / "pipelines/sources/shopify/queries/orders.graphql").read_text()
SERVER = """
import sys
from pathlib import Path
from sandbox.emulators.server import serve
serve(Path(sys.argv[1]), shopify_port=int(sys.argv[2]), stripe_port=int(sys.argv[3]),
      reamaze_port=int(sys.argv[4]), aftership_port=int(sys.argv[5]))
"""


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _wait(url: str, deadline: float, server: subprocess.Popen) -> None:
    while time.monotonic() < deadline and server.poll() is None:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"emulator at {url} did not start")


def walk_shopify(http: httpx.Client, base: str, world) -> Iterator[int]:
    for store in world.stores.itertuples():
        url = f"{base}/shops/{store.shop}/admin/api/2026-07/graphql.json"
        after = None
        while True:
            response = http.post(url, json={"query": ORDERS_QUERY, "variables": {"first": 250, "after": after}},
                                 headers={"X-Shopify-Access-Token": store.access_token})
            response.raise_for_status()
            body = orjson.loads(response.content)
            if "data" not in body or body.get("errors"):
                raise RuntimeError(f"Shopify emulator answered errors: {str(body.get('errors'))[:300]}")
            orders = body["data"]["orders"]
            nested = sum(len(o["lineItems"]["nodes"]) + len(o["transactions"]) + len(o["refunds"])
                         + sum(len(r["refundLineItems"]["nodes"]) for r in o["refunds"]) for o in orders["nodes"])
            NESTED["shopify"] += nested
            yield len(orders["nodes"])
            if not orders["pageInfo"]["hasNextPage"]:
                break
            after = orders["pageInfo"]["endCursor"]


def walk_stripe(http: httpx.Client, base: str, world) -> Iterator[int]:
    for account in world.areas["payments"]["stripe_accounts"].itertuples():
        params: dict[str, str | int] = {"limit": 100}
        while True:
            response = http.get(f"{base}/v1/charges", params=params,
                                headers={"Authorization": f"Bearer {account.secret_key}"})
            response.raise_for_status()
            body = orjson.loads(response.content)
            yield len(body["data"])
            if not body["has_more"]:
                break
            params["starting_after"] = body["data"][-1]["id"]


def walk_reamaze(http: httpx.Client, base: str, world) -> Iterator[int]:
    staff = world.areas["support"]["staff"].groupby("brand").head(1)
    for user in staff.itertuples():
        auth = base64.b64encode(f"{user.email}:{user.api_token}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}", "Accept": "application/json"}
        page = 1
        while True:
            response = http.get(f"{base}/brands/{user.brand.lower()}/api/v1/conversations",
                                params={"filter": "all", "page": page}, headers=headers)
            response.raise_for_status()
            body = orjson.loads(response.content)
            yield len(body["conversations"])
            if page >= body["page_count"]:
                break
            page += 1


def walk_aftership(http: httpx.Client, base: str, world) -> Iterator[int]:
    headers = {"as-api-key": api_key_from_meta(world.meta)}
    params: dict[str, str | int] = {"limit": 200}
    while True:
        response = http.get(f"{base}/tracking/2026-07/trackings", params=params, headers=headers)
        response.raise_for_status()
        data = orjson.loads(response.content)["data"]
        yield len(data["trackings"])
        if not data["pagination"]["has_next_page"]:
            break
        params["cursor"] = data["pagination"]["next_cursor"]


NESTED: dict[str, int] = {"shopify": 0}  # nested rows counted by the Shopify walk in progress

WALKS: dict[str, tuple[str, Callable[..., Iterator[int]]]] = {
    "shopify": ("orders", walk_shopify),
    "stripe": ("charges", walk_stripe),
    "reamaze": ("conversations", walk_reamaze),
    "aftership": ("trackings", walk_aftership),
}


def measure(preset: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as out:
        world_dir = generate_world(preset, SEED, Path(out))
        world = load_world(world_dir)
        ports = _free_ports(4)
        # the page walk asks for 250 whole orders a page, far above Shopify's single-query cost limit: the
        # emulator reports costs but refuses nothing here (throughput, not throttling, is measured)
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(world_dir), *map(str, ports)], cwd=ROOT,
                                  env={**os.environ, COST_LIMITS_ENV: "off"})
        try:
            bases = {name: f"http://127.0.0.1:{port}" for name, port in zip(WALKS, ports, strict=True)}
            started = time.monotonic()
            for base in bases.values():
                _wait(f"{base}/__stats", started + 900, server)
            print(f"{preset}: emulators loaded the world in {time.monotonic() - started:.0f} s", flush=True)
            rows = []
            with httpx.Client(timeout=120) as http:
                for run, (name, (objects, walk)) in [(r, item) for r in (1, 2) for item in WALKS.items()]:
                    started = time.perf_counter()
                    pages = count = 0
                    NESTED["shopify"] = 0
                    for served in walk(http, bases[name], world):
                        pages += 1
                        count += served
                    seconds = time.perf_counter() - started
                    rows.append({"preset": preset, "walk": run, "api": name, "objects": objects, "count": count,
                                 "pages": pages, "seconds": seconds,
                                 "nested": count + NESTED["shopify"] if name == "shopify" else count})
                    print(f"{preset} walk {run} {name}: {count} {objects} in {pages} pages, {seconds:.2f} s "
                          f"({count / seconds:,.0f}/s)", flush=True)
        finally:
            server.terminate()
            server.wait(10)
    return rows


def main(presets: list[str]) -> None:
    load_before = os.getloadavg()[0]
    rows = [row for preset in presets for row in measure(preset)]
    load_after = os.getloadavg()[0]
    lines = [
        "# Emulator throughput (raw httpx page-walk, emulators in a separate process)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}), command: `uv run python bench/emulator_throughput.py "
        f"{' '.join(presets)}` (seed {SEED}). Goal: {GOAL_OBJECTS_PER_S:,} objects/s over the four walks.",
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after (other jobs share the machine: "
        "compare runs only at similar load).",
        "",
        "| preset | walk | API | objects | count | pages | time (s) | objects/s | with nested | with nested/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['preset']} | {row['walk']} | {row['api']} | {row['objects']} | {row['count']:,} "
                     f"| {row['pages']:,} | {row['seconds']:.2f} | {row['count'] / row['seconds']:,.0f} "
                     f"| {row['nested']:,} | {row['nested'] / row['seconds']:,.0f} |")
    for preset, run in [(p, r) for p in presets for r in (1, 2)]:
        mine = [r for r in rows if r["preset"] == preset and r["walk"] == run]
        count, seconds = sum(r["count"] for r in mine), sum(r["seconds"] for r in mine)
        nested = sum(r["nested"] for r in mine)
        rate = count / seconds
        lines.append(f"| {preset} | {run} | **all four** | | **{count:,}** | | **{seconds:.2f}** | **{rate:,.0f}** "
                     f"({'meets' if rate >= GOAL_OBJECTS_PER_S else 'misses'} the goal) | {nested:,} "
                     f"| {nested / seconds:,.0f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:] or ["demo"])
