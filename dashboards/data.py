"""Read-only access to the published ``serving.duckdb`` for the dashboard.

Every query opens a short-lived read-only connection, runs one SQL file from ``dashboards/queries/`` with bound
parameters, and closes the connection again, so the pipeline can swap the file (``os.replace``) at any time.
Results are cached per (query name, SQL text, parameters, file path, file version), where the file version is
its mtime (plus inode and size), so a new publish shows up on the next rerun without restarting Streamlit.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

logger = logging.getLogger(__name__)

ENV_VAR = "LEAKWATCH_SERVING_DB"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "serving.duckdb"
QUERIES_DIR = Path(__file__).resolve().parent / "queries"
RETRY_DELAY_S = 0.5

_QUERY_NAME = re.compile(r"^[a-z0-9_]+$")
# Errors that can happen while the publisher replaces the file: it is briefly absent, locked or unreadable.
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    duckdb.IOException,
    duckdb.SerializationException,
)
# Errors that mean the published file does not have the tables/columns this dashboard expects.
_SCHEMA_ERRORS: tuple[type[BaseException], ...] = (duckdb.CatalogException, duckdb.BinderException)

Params = Mapping[str, Any]
FrozenParams = tuple[tuple[str, Any], ...]
FileVersion = tuple[int, int, int]


class ServingDbError(Exception):
    """Base class: the dashboard cannot read serving.duckdb; ``str(exc)`` is a one-line message for users."""


class ServingDbMissing(ServingDbError):
    """serving.duckdb has not been published yet (the file does not exist)."""


class ServingDbUnavailable(ServingDbError):
    """serving.duckdb exists but could not be read, even after one retry (e.g. it is being replaced)."""


class ServingDbSchemaError(ServingDbError):
    """serving.duckdb lacks a table or column the dashboard reads (published by an older pipeline?)."""


def serving_db_path() -> Path:
    """Return the path of serving.duckdb: ``$LEAKWATCH_SERVING_DB`` or ``<project root>/var/serving.duckdb``."""
    configured = os.environ.get(ENV_VAR)
    if not configured:
        return DEFAULT_DB_PATH
    path = Path(configured).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_sql(name: str) -> str:
    """Return the text of ``dashboards/queries/<name>.sql``; ``name`` must be a plain snake_case file stem."""
    if not _QUERY_NAME.fullmatch(name):
        raise ValueError(f"invalid query name {name!r}")
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise ValueError(f"unknown query {name!r}: {path} does not exist")
    return path.read_text(encoding="utf-8")


def file_version(path: Path) -> FileVersion:
    """Return (mtime in ns, inode, size) of ``path``; raises FileNotFoundError when it does not exist."""
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_ino, stat.st_size)


def _freeze(params: Params | None) -> FrozenParams:
    """Turn a parameter mapping into a sorted tuple (lists become tuples) so it can be part of the cache key."""
    items = ((key, tuple(value) if isinstance(value, list | tuple) else value) for key, value in (params or {}).items())
    return tuple(sorted(items))


def _execute(path: Path, sql: str, params: FrozenParams) -> pd.DataFrame:
    """Open ``path`` read-only, run ``sql`` with named parameters bound by DuckDB, close, return a DataFrame.

    Tuple parameters are bound as DuckDB lists (``list_contains($store_ids, store_id)``).
    """
    bound = {key: list(value) if isinstance(value, tuple) else value for key, value in params}
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, bound).df()


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_query(name: str, sql: str, params: FrozenParams, path: str, version: FileVersion) -> pd.DataFrame:
    """Cached wrapper around :func:`_execute`; ``name`` and ``version`` only serve as cache-key parts."""
    del name, version
    return _execute(Path(path), sql, params)


def run_query(name: str, params: Params | None = None) -> pd.DataFrame:
    """Run the named SQL file against serving.duckdb with ``params`` bound as ``$name`` parameters.

    Retries once after ``RETRY_DELAY_S`` when the file is missing or unreadable (e.g. mid-replace).

    Raises:
        ServingDbMissing: the file does not exist (after the retry).
        ServingDbUnavailable: the file exists but could not be read (after the retry).
        ServingDbSchemaError: the file lacks a table or column the query reads.
    """
    sql = load_sql(name)
    frozen = _freeze(params)
    path = serving_db_path()
    for attempt in (1, 2):
        try:
            return _cached_query(name, sql, frozen, str(path), file_version(path))
        except _SCHEMA_ERRORS as exc:
            logger.exception("query %s does not match the schema of %s", name, path)
            raise ServingDbSchemaError(
                f"{path} does not have the tables this page reads ({exc.__class__.__name__}); "
                "re-publish it with `leakwatch run`."
            ) from exc
        except _TRANSIENT_ERRORS as exc:
            if attempt == 1:
                logger.warning("query %s on %s failed, retrying once: %s", name, path, exc)
                time.sleep(RETRY_DELAY_S)
                continue
            if not path.exists():
                raise ServingDbMissing(f"{path} does not exist yet.") from exc
            logger.exception("query %s on %s failed twice", name, path)
            raise ServingDbUnavailable(
                f"{path} could not be read (it may be being replaced by a new publish); reload in a moment."
            ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def mart_columns() -> dict[str, list[str]]:
    """The published marts and their columns, ``{table: [column, …]}`` (what the pages can show)."""
    frame = run_query("published_columns")
    columns: dict[str, list[str]] = {}
    for row in frame.itertuples(index=False):
        columns.setdefault(str(row.table_name), []).append(str(row.column_name))
    return columns


def published_at() -> float | None:
    """When serving.duckdb was last replaced (its mtime, seconds since the epoch), None when it is missing."""
    try:
        return serving_db_path().stat().st_mtime
    except FileNotFoundError:
        return None
