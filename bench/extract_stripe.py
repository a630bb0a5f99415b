"""Objects/s of the Stripe extraction on the `demo` world (issue 6), measured, not estimated.

Three clients walk the same five list endpoints (charges, refunds, disputes with `expand[]=data.balance_transactions`,
balance transactions, payment intents) of every brand account, `limit=100`, against the Stripe emulator running in
a child process (warmed up first, so every object is pre-rendered):

- `raw`: a bare httpx page-walk (`starting_after` loop, JSON decoded) — the ceiling;
- `leakwatch`: our dlt source (`pipelines.sources.stripe`), extracted by a dlt pipeline (first, full run);
- `rest_api`: dlt's generic `rest_api` source configured for Stripe, extracted the same way.

Each client runs `ROUNDS` times (alternating); the best round counts. Usage:
    uv run python bench/extract_stripe.py [world_dir]   → bench/results/extract_stripe.md
Without a world dir, the demo world is generated into a temporary folder.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dlt
import httpx
import pandas as pd
from dlt.sources.rest_api import rest_api_source

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.sources.stripe import stripe_source  # noqa: E402
from pipelines.sources.stripe.helpers import StripePaginator  # noqa: E402
from pipelines.sources.stripe.settings import ENDPOINTS  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "extract_stripe.md"
ROUNDS = 3
SERVER = """
import sys, uvicorn
from pathlib import Path
from sandbox.emulators.stripe import create_app
uvicorn.run(create_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False)
"""


def _params(table: str) -> dict:
    return {"expand[]": "data.balance_transactions"} if table == "disputes" else {}


def raw_walk(base_url: str, accounts: list[dict], keys: dict[str, str], work: Path) -> int:
    objects = 0
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for account in accounts:
            headers = {"Authorization": f"Bearer {keys[account['brand'].lower()]}"}
            for table, path in ENDPOINTS.items():
                params = {"limit": 100, **_params(table)}
                while True:
                    body = client.get(path, params=params, headers=headers).json()
                    objects += len(body["data"])
                    if not body["has_more"]:
                        break
                    params["starting_after"] = body["data"][-1]["id"]
    return objects


def _extract(source: dlt.sources.DltSource, work: Path, name: str) -> int:
    pipeline = dlt.pipeline(pipeline_name=name, destination=dlt.destinations.duckdb(str(work / f"{name}.duckdb")),
                            pipelines_dir=str(work / f"dlt_{name}_{time.monotonic_ns()}"))
    info = pipeline.extract(source)
    counts = info.metrics[info.loads_ids[0]][0]["table_metrics"]
    return sum(m.items_count for table, m in counts.items() if not table.startswith("_dlt"))


def leakwatch_source(base_url: str, accounts: list[dict], keys: dict[str, str], work: Path) -> int:
    return _extract(stripe_source(accounts=accounts, api_keys=keys, base_url=base_url), work, "bench_leakwatch")


def generic_rest_api(base_url: str, accounts: list[dict], keys: dict[str, str], work: Path) -> int:
    total = 0
    for account in accounts:
        config = {
            "client": {"base_url": base_url, "auth": {"type": "bearer", "token": keys[account["brand"].lower()]}},
            "resource_defaults": {"primary_key": "id", "write_disposition": "merge",
                                  "endpoint": {"data_selector": "data", "params": {"limit": 100}}},
            "resources": [{"name": table, "endpoint": {"path": path, "paginator": StripePaginator(),
                                                        "params": {"limit": 100, **_params(table)}}}
                          for table, path in ENDPOINTS.items()],
        }
        total += _extract(rest_api_source(config, name="stripe_rest_api"), work, "bench_rest_api")
    return total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if len(sys.argv) > 1:
            world_dir = Path(sys.argv[1])
        else:
            from sandbox.world.generate import generate_world
            world_dir = generate_world("demo", 5, work)
        frame = pd.read_parquet(world_dir / "payments" / "stripe_accounts.parquet")
        accounts = [{"brand": b, "account_id": a} for b, a in zip(frame["brand"], frame["account_id"])]
        keys = {b.lower(): k for b, k in zip(frame["brand"], frame["secret_key"])}
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(world_dir), str(port)], cwd=ROOT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    httpx.get(f"{base_url}/__stats", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            warm = raw_walk(base_url, accounts, keys, work)  # renders every object once
            clients: dict[str, Callable[..., int]] = {"raw": raw_walk, "leakwatch": leakwatch_source,
                                                      "rest_api": generic_rest_api}
            best: dict[str, tuple[float, int]] = {}
            for _ in range(ROUNDS):
                for name, run in clients.items():
                    start = time.perf_counter()
                    objects = run(base_url, accounts, keys, work)
                    seconds = time.perf_counter() - start
                    if name not in best or seconds < best[name][0]:
                        best[name] = (seconds, objects)
        finally:
            server.terminate()
            server.wait(10)
    report(best, warm)


def report(best: dict[str, tuple[float, int]], warm: int) -> None:
    rate = {name: objects / seconds for name, (seconds, objects) in best.items()}
    lines = [
        "# Stripe extraction throughput (`demo` world)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f}), by `bench/extract_stripe.py`; best of {ROUNDS} rounds. "
        f"Objects in the five lists (disputes' expanded balance transactions not counted by `raw`): {warm}.", "",
        "| client | objects | seconds | objects/s | vs raw |", "|---|---:|---:|---:|---:|",
    ]
    for name, (seconds, objects) in best.items():
        lines.append(f"| {name} | {objects} | {seconds:.2f} | {rate[name]:.0f} | {rate[name] / rate['raw']:.0%} |")
    lines += ["", f"Goal: leakwatch ≥ 50 % of raw ({'met' if rate['leakwatch'] >= rate['raw'] / 2 else 'NOT met'}) "
              f"and faster than rest_api ({'met' if rate['leakwatch'] > rate['rest_api'] else 'NOT met'}).", ""]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
