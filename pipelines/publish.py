"""Publish the checked marts to serving.duckdb: build a temp file, then `os.replace` it into place.

Readers (dashboard, analysts) open serving.duckdb read-only for a moment at a time; os.replace swaps the
directory entry atomically, so a reader sees the old file or the new one, never a half-written one. The
previous file is kept as serving.prev.duckdb (hard link, so the swap never leaves serving.duckdb missing).

A publish killed half-way (SIGKILL, power loss) leaves serving.duckdb as the old file and only dot-prefixed
temp files behind (`.serving.<pid>.tmp.duckdb[.wal]`, `.serving.prev.<pid>.tmp`); the next publish or
rollback removes those whose process is gone.

`rollback` swaps serving.duckdb and serving.prev.duckdb, each step an `os.replace` of a hard link, so a
second rollback undoes the first and neither file is ever missing or half-written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

import duckdb
import psutil

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


def prev_path(serving: Path) -> Path:
    """Where the previously published file is kept: `serving.prev.duckdb` next to `serving.duckdb`."""
    return serving.with_name(f"{serving.stem}.prev.duckdb")


def _writer_alive(pid: int, path: Path) -> bool:
    """Is the process that wrote `path` still running? A pid alone is not enough: pids are reused (pid_max
    is often 32768), so a process with that pid counts only if it started before the file's inode last changed
    (ctime: set by writes and by the hard link a publish makes of the previous file)."""
    if pid == os.getpid():
        return True
    try:
        started = psutil.Process(pid).create_time()
        changed = path.stat().st_ctime
    except (psutil.NoSuchProcess, FileNotFoundError):
        return False
    except psutil.AccessDenied:
        return True
    return started <= changed + 1.0


def clean_stale_temp_files(serving: Path) -> list[Path]:
    """Remove temp files of publishes/rollbacks whose process is gone; returns what was removed.

    Temp names carry the writer's pid (`.serving.<pid>.tmp.duckdb`, `.serving.prev.<pid>.tmp`,
    `.serving.rollback.<pid>.tmp`, plus DuckDB's `.wal`), so a publish running concurrently is left alone.
    """
    pattern = re.compile(rf"^\.{re.escape(serving.stem)}\.(?:[a-z]+\.)?(\d+)\.tmp(?:\..*)?$")
    removed: list[Path] = []
    if not serving.parent.is_dir():
        return removed
    for path in serving.parent.iterdir():
        match = pattern.match(path.name)
        if match and not _writer_alive(int(match.group(1)), path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def publish(warehouse: Path, serving: Path) -> dict[str, int]:
    """Atomically replace `serving` with the marts of `warehouse`; keeps the old one as `*.prev.duckdb`."""
    serving.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(serving)
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
            prev = prev_path(serving)
            prev_tmp = serving.with_name(f".{serving.stem}.prev.{os.getpid()}.tmp")
            prev_tmp.unlink(missing_ok=True)
            os.link(serving, prev_tmp)
            os.replace(prev_tmp, prev)
        os.replace(tmp, serving)
        _fsync_dir(serving.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return counts


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link `src` to `dst` (a fresh temp name); copy + fsync where links are not supported."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        with dst.open("rb") as fh:
            os.fsync(fh.fileno())


def rollback(serving: Path) -> None:
    """Put `serving.prev.duckdb` back as `serving`, keeping the rolled-back file as the new prev (a swap).

    Step 1 `os.replace`s a hard link of prev onto serving (readers see the old or the restored file, never
    neither); step 2 `os.replace`s a link of the rolled-back file onto prev. Killed between the two, both names
    hold the restored file, which is still a valid state. Raises FileNotFoundError when there is no prev.
    """
    prev = prev_path(serving)
    if not prev.exists():
        raise FileNotFoundError(f"nothing to roll back to: {prev} does not exist (no earlier publish kept)")
    clean_stale_temp_files(serving)
    restore_tmp = serving.with_name(f".{serving.stem}.rollback.{os.getpid()}.tmp")
    keep_tmp = serving.with_name(f".{serving.stem}.prev.{os.getpid()}.tmp")
    try:
        _link_or_copy(prev, restore_tmp)
        if serving.exists():
            _link_or_copy(serving, keep_tmp)
        os.replace(restore_tmp, serving)
        if keep_tmp.exists():
            os.replace(keep_tmp, prev)
        _fsync_dir(serving.parent)
    finally:
        restore_tmp.unlink(missing_ok=True)
        keep_tmp.unlink(missing_ok=True)
