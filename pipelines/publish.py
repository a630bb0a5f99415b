"""Publish the checked marts to serving.duckdb: build a temp file, then `os.replace` it into place.

Readers (dashboard, analysts) open serving.duckdb read-only for a moment at a time; os.replace swaps the
directory entry atomically, so a reader sees the old file or the new one, never a half-written one. The
previous file is kept as serving.prev.duckdb (hard link, so the swap never leaves serving.duckdb missing).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts",)


def _copy_schemas(warehouse: Path, target: Path) -> dict[str, int]:
    """Copy every table of the published schemas into a fresh DuckDB file; returns row counts."""
    counts: dict[str, int] = {}
    con = duckdb.connect(str(target))
    try:
        con.execute("attach ? as wh (read_only)", [str(warehouse)])
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f'create schema if not exists "{schema}"')
            tables = con.execute(
                "select table_name from duckdb_tables() where database_name = 'wh' and schema_name = ? "
                "order by table_name", [schema]
            ).fetchall()
            for (table,) in tables:
                con.execute(f'create table "{schema}"."{table}" as select * from wh."{schema}"."{table}"')
                counts[f"{schema}.{table}"] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def publish(warehouse: Path, serving: Path) -> dict[str, int]:
    """Atomically replace `serving` with the marts of `warehouse`; keeps the old one as `*.prev.duckdb`."""
    serving.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving.with_name(f".{serving.stem}.{os.getpid()}.tmp.duckdb")
    tmp.unlink(missing_ok=True)
    try:
        counts = _copy_schemas(warehouse, tmp)
        check = duckdb.connect(str(tmp), read_only=True)
        check.execute("select count(*) from marts.kpis").fetchone()
        check.close()
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        if serving.exists():
            prev = serving.with_name(f"{serving.stem}.prev.duckdb")
            prev_tmp = serving.with_name(f".{serving.stem}.prev.{os.getpid()}.tmp")
            prev_tmp.unlink(missing_ok=True)
            os.link(serving, prev_tmp)
            os.replace(prev_tmp, prev)
        os.replace(tmp, serving)
        dir_fd = os.open(serving.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)
    return counts
