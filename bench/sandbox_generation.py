"""Time and peak RSS of `leakwatch sandbox generate` for each preset (issue 4), measured, not estimated.

Each preset runs in a fresh child process so its peak RSS is its own (`ru_maxrss` of the child).
Usage: uv run python bench/sandbox_generation.py [preset ...]   → bench/results/sandbox_generation.md
"""

from __future__ import annotations

import json
import os
import platform
import resource
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
import json, sys, time
from pathlib import Path
from sandbox.build import generate
t = time.perf_counter()
summary = generate(sys.argv[1], 7, Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t, "orders": summary["orders"]}))
"""


def measure(preset: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, preset, out], capture_output=True, text=True,
                              check=True)
        wall = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
    return {"preset": preset, "orders": result["orders"], "generate_s": result["seconds"], "wall_s": wall,
            "peak_rss_mb": max(peak_kb, before) / 1024, "size_mb": size / 1e6}


def main(presets: list[str]) -> None:
    rows = []
    for preset in presets:
        print(f"generating {preset} …", flush=True)
        rows.append(measure(preset))
        print(rows[-1], flush=True)
    lines = [
        "# Sandbox generation (world + sheets + ground truth)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"command: `uv run python bench/sandbox_generation.py {' '.join(presets)}`.",
        "Peak RSS is the child process's `ru_maxrss` (a later preset's row is the max so far across children).",
        "",
        "| preset | orders at clock | time (s) | goal (s) | ratio | peak RSS (MB) | goal RSS (MB) | output (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        goal = GOALS_S.get(r["preset"])
        lines.append(
            f"| {r['preset']} | {r['orders']:,} | {r['generate_s']:.1f} | {goal} | {r['generate_s'] / goal:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {GOAL_RSS_MB.get(r['preset'], '')} | {r['size_mb']:.1f} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # earlier measurements are kept under "## History" (written by hand when a change moves the numbers)
    history = RESULTS.read_text().partition("\n## History")[2] if RESULTS.exists() else ""
    RESULTS.write_text("\n".join(lines) + "\n" + (f"\n## History{history}" if history else ""))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main(sys.argv[1:] or ["tiny", "small", "demo"])
