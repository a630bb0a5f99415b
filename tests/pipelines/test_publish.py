"""Publishing replaces serving.duckdb atomically with the marts only, and keeps the previous file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.publish import publish


def make_warehouse(path: Path, value: float) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema raw_shopify")
    con.execute("create table marts.kpis as select 'refund_cost' as metric, ? as value", [value])
    con.execute("create table raw_shopify.orders as select 'secret@example.com' as email")
    con.close()


def test_publish_copies_marts_only_and_keeps_previous(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    make_warehouse(warehouse, 1.0)
    assert publish(warehouse, serving) == {"marts.kpis": 1}
    make_warehouse(tmp_path / "w2.duckdb", 2.0)
    publish(tmp_path / "w2.duckdb", serving)
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("select value from marts.kpis").fetchone()[0] == 2.0
    schemas = {r[0] for r in con.execute("select schema_name from duckdb_tables()").fetchall()}
    con.close()
    assert schemas == {"marts"}, "raw data (with PII) must not reach the serving DB"
    prev = duckdb.connect(str(tmp_path / "serving.prev.duckdb"), read_only=True)
    assert prev.execute("select value from marts.kpis").fetchone()[0] == 1.0
    prev.close()
    assert not list(tmp_path.glob(".*tmp*")), "temp files are cleaned up"


def test_failed_publish_leaves_serving_untouched(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    make_warehouse(warehouse, 1.0)
    publish(warehouse, serving)
    before = serving.read_bytes()
    broken = tmp_path / "broken.duckdb"
    con = duckdb.connect(str(broken))
    con.execute("create schema marts; create table marts.other as select 1 as x")  # no marts.kpis
    con.close()
    with pytest.raises(duckdb.CatalogException):
        publish(broken, serving)
    assert serving.read_bytes() == before
    assert not list(tmp_path.glob(".*tmp*"))


def test_cleanup_is_not_fooled_by_a_reused_pid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temp file left by a killed publish is removed even when a live process now has the same pid, because
    that process started after the file was made; the temp file of a process that started before it is kept."""
    import pipelines.publish as publishing

    serving = tmp_path / "serving.duckdb"
    stale = tmp_path / ".serving.prev.4242.tmp"
    live = tmp_path / ".serving.4343.tmp.duckdb"
    stale.write_text("left by a killed publish")
    live.write_text("being written")
    made = stale.stat().st_ctime
    started = {4242: made + 120.0, 4343: made - 5.0}  # 4242 reused later; 4343 is the real writer

    class FakeProcess:
        def __init__(self, pid: int) -> None:
            self.pid = pid

        def create_time(self) -> float:
            return started[self.pid]

    monkeypatch.setattr(publishing.psutil, "Process", FakeProcess)
    assert publishing.clean_stale_temp_files(serving) == [stale]
    assert not stale.exists() and live.exists()
