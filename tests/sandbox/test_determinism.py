"""Same seed ⇒ byte-identical sandbox (world, sheets, config, ground truth); another seed ⇒ another world."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sandbox.build import generate


def digests(root: Path) -> dict[str, str]:
    """md5 of every file except the DuckDB file (not byte-stable by design; its tables are exported as parquet)."""
    return {
        str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix != ".duckdb"
    }


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        out[name] = tmp_path_factory.mktemp(name)
        generate("tiny", seed, out[name])
    return out


def test_same_seed_gives_byte_identical_files(sandboxes: dict[str, Path]) -> None:
    a, b = digests(sandboxes["a"]), digests(sandboxes["b"])
    assert a == b
    assert any(k.startswith("ground_truth/") for k in a), "ground truth exported as parquet"
    assert any(k.startswith("world/payments/") for k in a) and any(k.startswith("sheets/") for k in a)


def test_same_seed_gives_identical_ground_truth_tables(sandboxes: dict[str, Path]) -> None:
    import duckdb

    frames = []
    for name in ("a", "b"):
        con = duckdb.connect(str(sandboxes[name] / "ground_truth.duckdb"), read_only=True)
        frames.append(con.execute("select * from kpis order by all").df())
        con.close()
    assert frames[0].equals(frames[1])


def test_another_seed_gives_another_world(sandboxes: dict[str, Path]) -> None:
    a, c = digests(sandboxes["a"]), digests(sandboxes["c"])
    assert a["world/orders.parquet"] != c["world/orders.parquet"]
    assert a["ground_truth/kpis.parquet"] != c["ground_truth/kpis.parquet"]
