"""The dlt AfterShip source against the emulator on `small`: every tracking and checkpoint of the world at the
clock, and after the clock moves a second run that equals the world again having fetched only what changed."""

from __future__ import annotations

from pathlib import Path

import dlt
import duckdb
import httpx
import pandas as pd
import pytest
from requests import Response

from pipelines.sources.aftership import aftership_source
from pipelines.sources.aftership.helpers import rate_limit_pause
from pipelines.sources.aftership.settings import LOOKBACK_SECONDS
from sandbox.emulators.aftership import api_key
from sandbox.emulators.server import start_background_thread
from sandbox.world import load_world, world_at
from tests.conftest import Leakwatch

ADVANCE_DAYS = 3


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _truth(world_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    area = world_at(load_world(world_dir)).areas["fulfilment"]
    return area["trackings"], area["checkpoints"]


def _stats(base_url: str, reset: bool = False) -> dict:
    if reset:
        httpx.post(f"{base_url}/__stats/reset")
    return httpx.get(f"{base_url}/__stats").json()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    leakwatch = Leakwatch(tmp_path_factory.mktemp("aftership"))
    generated = leakwatch("sandbox", "generate", "--preset", "small", "--seed", "13", "--free-ports")
    assert generated.returncode == 0, generated.stderr[-2000:]
    root, world_dir = leakwatch.var_dir, leakwatch.var_dir / "sandbox" / "world"
    handle = start_background_thread(world_dir)
    key = api_key(load_world(world_dir))
    path = root / "w.duckdb"
    pipeline = dlt.pipeline(pipeline_name="test_aftership", destination=dlt.destinations.duckdb(str(path)),
                            dataset_name="raw_aftership", pipelines_dir=str(root / "dlt"))

    def run() -> dict:
        base = handle.base_urls["aftership"]
        _stats(base, reset=True)
        pipeline.run(aftership_source(base_url=base, api_key=key), loader_file_format="parquet")
        return _stats(base)

    yield world_dir, path, run, leakwatch
    handle.stop()


def _assert_equals_world(world_dir: Path, path: Path) -> None:
    trackings, checkpoints = _truth(world_dir)
    loaded = _query(path, "select id, tag, subtag, updated_at from raw_aftership.trackings")
    assert len(loaded) == len(trackings)
    assert {r[0] for r in loaded} == set(trackings["tracking_id"])
    truth_tags = dict(zip(trackings["tracking_id"], zip(trackings["tag"], trackings["subtag"], strict=True),
                          strict=True))
    assert {r[0]: (r[1], r[2]) for r in loaded} == truth_tags
    loaded_cp = _query(path, """
        select t.id, c.subtag, epoch(cast(c.checkpoint_time as timestamptz))::bigint
        from raw_aftership.trackings__checkpoints as c
        inner join raw_aftership.trackings as t on c._dlt_root_id = t._dlt_id
    """)
    expected_cp = sorted(zip(checkpoints["tracking_id"], checkpoints["subtag"],
                             [int(t.timestamp()) for t in pd.to_datetime(checkpoints["checkpoint_time"], utc=True)],
                             strict=True))
    assert sorted(loaded_cp) == expected_cp


def test_first_run_equals_the_world_at_the_clock(sandbox) -> None:
    world_dir, path, run, _ = sandbox
    stats = run()
    _assert_equals_world(world_dir, path)
    trackings, _ = _truth(world_dir)
    assert stats["stores"]["portfolio"]["objects"] == len(trackings), "each tracking fetched once"


def test_after_the_clock_moves_a_rerun_fetches_only_changes_plus_lookback(sandbox) -> None:
    world_dir, path, run, leakwatch = sandbox
    before, _ = _truth(world_dir)
    last_seen = pd.to_datetime(before["updated_at"], utc=True).max()
    clock = pd.Timestamp(load_world(world_dir).meta["as_of"])
    advanced = leakwatch("sandbox", "advance", "--days", str(ADVANCE_DAYS))
    assert advanced.returncode == 0, advanced.stdout[-2000:] + advanced.stderr[-2000:]
    assert pd.Timestamp(load_world(world_dir).meta["as_of"]) == clock + pd.Timedelta(days=ADVANCE_DAYS)

    after, _ = _truth(world_dir)
    window_start = last_seen - pd.Timedelta(seconds=LOOKBACK_SECONDS)
    expected = int((pd.to_datetime(after["updated_at"], utc=True) >= window_start).sum())
    changed = int((pd.to_datetime(after["updated_at"], utc=True) > last_seen).sum())
    assert 0 < changed < expected < len(after) / 2

    stats = run()
    assert stats["stores"]["portfolio"]["objects"] == expected, "only changed trackings and the look-back"
    _assert_equals_world(world_dir, path)
    assert _query(path, "select count(*) - count(distinct id) from raw_aftership.trackings")[0][0] == 0


def test_rate_limit_pause_waits_for_the_window_reset() -> None:
    response = Response()
    response.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1002"})
    assert rate_limit_pause(response, now=1000.5) == pytest.approx(1.5)
    response.headers["X-RateLimit-Remaining"] = "3"
    assert rate_limit_pause(response, now=1000.5) == 0.0
