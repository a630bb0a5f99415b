"""Time and peak RSS of `leakwatch sandbox generate` for each preset (issue 4), measured, not estimated.

Each preset runs in a fresh child process so its peak RSS is its own (`ru_maxrss` of the child).
Usage: uv run python bench/sandbox_generation.py [preset ...]   → bench/results/sandbox_generation.md
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

GOALS_S = {"tiny": 3, "small": 15, "demo": 60, "large": 300}
GOAL_RSS_MB = {"large": 4096}
RESULTS = Path(__file__).parent / "results" / "sandbox_generation.md"

CHILD = """
import json, resource, sys, time
from pathlib import Path
from sandbox.build import generate
t = time.perf_counter()
summary = generate(sys.argv[1], 7, Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t, "orders": summary["orders"],
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure(preset: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, preset, out], capture_output=True, text=True,
                              check=True)
        wall = time.perf_counter() - started
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
    return {"preset": preset, "orders": result["orders"], "generate_s": result["seconds"], "wall_s": wall,
            "peak_rss_mb": result["peak_kb"] / 1024, "size_mb": size / 1e6}


HEADER = ("| preset | orders at clock | time (s) | goal (s) | ratio | peak RSS (MB) | goal RSS (MB) | output (MB) "
          "| load avg (1 min, before → after) | measured (UTC) |")


def _row(r: dict) -> str:
    goal = GOALS_S.get(r["preset"])
    return (f"| {r['preset']} | {r['orders']:,} | {r['generate_s']:.1f} | {goal} | {r['generate_s'] / goal:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {GOAL_RSS_MB.get(r['preset'], '')} | {r['size_mb']:.1f} | "
            f"{r['load_before']:.1f} → {r['load_after']:.1f} | {r['at']} |")


def _kept_rows(text: str, remeasured: set[str]) -> list[str]:
    """Rows of the current table for presets not measured this time (a run of `large` keeps tiny…demo)."""
    table = text.partition("\n## History")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| preset")]
    return [line for line in rows if line.split("|")[1].strip() not in remeasured and line.count("|") == 12]


def main(presets: list[str]) -> None:
    rows = []
    for preset in presets:
        print(f"generating {preset} …", flush=True)
        load_before = os.getloadavg()[0]
        result = measure(preset)
        rows.append({**result, "load_before": load_before, "load_after": os.getloadavg()[0],
                     "at": f"{datetime.now(UTC):%Y-%m-%d %H:%M}"})
        print(rows[-1], flush=True)
    old = RESULTS.read_text() if RESULTS.exists() else ""
    order = list(GOALS_S)
    table = sorted(_kept_rows(old, set(presets)) + [_row(r) for r in rows],
                   key=lambda line: order.index(line.split("|")[1].strip()))
    lines = [
        "# Sandbox generation (world + sheets + ground truth)",
        "",
        f"Last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"command: `uv run python bench/sandbox_generation.py {' '.join(presets)}`; a row is replaced only when "
        "its preset is measured again (each row says when, and the 1-minute load average around it: the box is "
        "shared, so compare rows taken under similar load).",
        "Peak RSS is the child process's `ru_maxrss`; time is `generate_s` (inside `generate`, imports excluded).",
        "",
        HEADER,
        "|---|---|---|---|---|---|---|---|---|---|",
        *table,
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # earlier measurements are kept under "## History" (written by hand when a change moves the numbers)
    history = old.partition("\n## History")[2]
    RESULTS.write_text("\n".join(lines) + "\n" + (f"\n## History{history}" if history else ""))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main(sys.argv[1:] or ["tiny", "small", "demo"])
