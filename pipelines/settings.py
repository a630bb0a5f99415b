"""Where things live and which config is in force. Paths come from the environment, never from the cwd."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def var_dir() -> Path:
    """Runtime data: warehouse, serving DB, dlt state, Dagster home, reports (`LEAKWATCH_VAR`)."""
    return Path(os.environ.get("LEAKWATCH_VAR", PROJECT_ROOT / "var")).resolve()


def sandbox_dir() -> Path:
    return var_dir() / "sandbox"


def warehouse_path() -> Path:
    return var_dir() / "warehouse.duckdb"


def serving_path() -> Path:
    return var_dir() / "serving.duckdb"


def dlt_pipelines_dir() -> Path:
    return var_dir() / "dlt"


def dagster_home() -> Path:
    return var_dir() / "dagster"


def gx_dir() -> Path:
    """Great Expectations project of the data-completeness gate (suites, validation results, Data Docs)."""
    return var_dir() / "gx"


def config_dir() -> Path:
    """The folder whose `.dlt/` holds config and secrets.

    `DLT_PROJECT_DIR` if set; else the project root when it has `.dlt/secrets.toml` (real shops);
    else the sandbox written by `leakwatch sandbox generate`.
    """
    if os.environ.get("DLT_PROJECT_DIR"):
        return Path(os.environ["DLT_PROJECT_DIR"]).resolve()
    if (PROJECT_ROOT / ".dlt" / "secrets.toml").exists():
        return PROJECT_ROOT
    return sandbox_dir()


def activate_config() -> Path:
    """Point dlt at the config folder chosen by `config_dir` (before any source reads config)."""
    folder = config_dir()
    os.environ["DLT_PROJECT_DIR"] = str(folder)
    os.environ["LEAKWATCH_WAREHOUSE"] = str(warehouse_path())
    os.environ.setdefault("DAGSTER_HOME", str(dagster_home()))
    return folder


def install_dagster_home() -> Path:
    """Create DAGSTER_HOME (var/dagster) with the project's dagster.yaml in it."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    text = (PROJECT_ROOT / "dagster.yaml").read_text()
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return home


@dataclass(frozen=True)
class RunConfig:
    """The `[leakwatch]` section of `.dlt/config.toml`."""

    environment: str
    as_of: datetime | None
    reporting_currency: str
    sandbox_world: Path | None

    @property
    def is_sandbox(self) -> bool:
        return self.environment == "sandbox"

    def as_of_or_now(self) -> datetime:
        return self.as_of or datetime.now(UTC)


def run_config(folder: Path | None = None) -> RunConfig:
    folder = folder or config_dir()
    path = folder / ".dlt" / "config.toml"
    section: dict = {}
    if path.exists():
        with path.open("rb") as fh:
            section = tomllib.load(fh).get("leakwatch", {})
    as_of = section.get("as_of")
    world = section.get("sandbox_world")
    return RunConfig(
        environment=section.get("environment", "production"),
        as_of=datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of else None,
        reporting_currency=section.get("reporting_currency", "USD"),
        sandbox_world=(folder / world).resolve() if world else None,
    )
