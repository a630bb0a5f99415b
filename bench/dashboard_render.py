"""Render time of every dashboard page on the `demo` preset (issue 9: each page < 1 s), measured with AppTest.

Needs a serving.duckdb built from the demo preset. By default it uses `$LEAKWATCH_VAR/serving.duckdb` when that
exists, else it generates the demo sandbox (seed 7) in a temporary var folder and runs the pipeline once
(minutes). Per page it measures, 5 times each, the median of:
  - cold: first render after a publish (empty query cache: every query opens serving.duckdb);
  - warm: a rerun with the cache filled (what a user sees when clicking around).
Usage: uv run python bench/dashboard_render.py [--var DIR]   → bench/results/dashboard_render.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_S = 1.0
REPEATS = 5
RESULTS = Path(__file__).parent / "results" / "dashboard_render.md"


def demo_var(var: Path | None) -> Path:
    """A var folder holding a published demo run (built when missing)."""
    candidate = var or (Path(os.environ["LEAKWATCH_VAR"]) if os.environ.get("LEAKWATCH_VAR") else None)
    if candidate and (candidate / "serving.duckdb").exists():
        return candidate
    target = candidate or Path(tempfile.mkdtemp(prefix="leakwatch_bench_"))
    env = {**os.environ, "LEAKWATCH_VAR": str(target)}
    for args in (("sandbox", "generate", "--preset", "demo", "--seed", "7", "--free-ports"), ("run",)):
        subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env, cwd=ROOT, check=True)
    return target


def measure(serving: Path) -> list[dict]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboards import app, data

    os.environ[data.ENV_VAR] = str(serving)
    rows = []
    for name, title, *_ in app.PAGES:
        cold, warm = [], []
        for _ in range(REPEATS):
            at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=120).run()
            at.switch_page(f"views/{name}")
            st.cache_data.clear()
            started = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - started)
            assert not at.exception, (name, [e.value for e in at.exception])
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        rows.append({"page": title, "cold": statistics.median(cold), "warm": statistics.median(warm)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, help="var folder with a published demo run")
    args = parser.parse_args()
    var = demo_var(args.var)
    serving = var / "serving.duckdb"
    rows = measure(serving)
    load = os.getloadavg()[0]
    import duckdb

    with duckdb.connect(str(serving), read_only=True) as con:
        marts = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
    lines = [
        "# Dashboard page render time (demo preset)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
        f"load average {load:.1f} at the end), command: `uv run python bench/dashboard_render.py`, "
        f"serving.duckdb {serving.stat().st_size / 1e6:.1f} MB.",
        f"Median of {REPEATS} AppTest runs per page (script run of app.py + the page, in-process, no browser). "
        "cold = first render after a publish (empty query cache); warm = rerun with the cache filled.",
        f"Published marts in this run: {', '.join(marts)} (pages whose marts are missing show their note, so "
        "re-measure once the area marts land).",
        "",
        "| page | cold (s) | warm (s) | goal (s) | cold within goal |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        ok = "yes" if row["cold"] < GOAL_S else "no"
        lines.append(f"| {row['page']} | {row['cold']:.2f} | {row['warm']:.2f} | {GOAL_S:.0f} | {ok} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
