"""METRICS.md §13 (the canonical `kpis` table) parsed once, so tests never keep a hand list that can drift.

The definitions live beside the repository (`../shared/docs/METRICS.md`, see README); `LEAKWATCH_METRICS_MD`
points elsewhere when the checkout is laid out differently.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECTION_13 = re.compile(r"^## 13\. .*?$(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class CanonicalMetric:
    name: str
    grain: str  # month | asof
    dimensions: frozenset[str | None]  # None = the NULL (total) dimension


def metrics_md_path() -> Path:
    return Path(os.environ.get("LEAKWATCH_METRICS_MD") or PROJECT_ROOT.parent / "shared" / "docs" / "METRICS.md")


def _dimensions(cell: str) -> frozenset[str | None]:
    """'' -> {NULL}; '`supplier`, `sku`' -> those; 'NULL (total) and `cause`' -> {NULL, cause}."""
    named: set[str | None] = set(CODE.findall(cell))
    if not named or "NULL" in cell:
        named.add(None)
    return frozenset(named)


@cache
def section_13() -> dict[str, CanonicalMetric]:
    """metric name -> grain and allowed dimensions, from the table of METRICS.md §13 (in its row order)."""
    path = metrics_md_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: METRICS.md not found (set LEAKWATCH_METRICS_MD to its path)")
    match = SECTION_13.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{path}: no '## 13.' section")
    metrics: dict[str, CanonicalMetric] = {}
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if len(cells) != 3 or cells[0] in ("metric", "") or set(cells[0]) <= {"-", ":"}:
            continue
        grain = cells[1]
        if grain not in ("month", "asof"):
            raise ValueError(f"{path}: §13 row {line.strip()!r}: grain {grain!r} is neither month nor asof")
        for name in CODE.findall(cells[0]):
            metrics[name] = CanonicalMetric(name, grain, _dimensions(cells[2]))
    if not metrics:
        raise ValueError(f"{path}: §13 has no metric rows")
    return metrics


def metric_names() -> list[str]:
    return list(section_13())
