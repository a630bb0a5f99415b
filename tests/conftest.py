"""Shared fixtures: an isolated var/ folder per test module and a helper to call the `leakwatch` CLI."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Leakwatch:
    """Runs `python -m pipelines.cli …` with LEAKWATCH_VAR pointing at a private folder."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.env = {**os.environ, "LEAKWATCH_VAR": str(var_dir)}
        self.env.pop("DLT_PROJECT_DIR", None)
        self.env.pop("DAGSTER_HOME", None)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pipelines.cli", *args]

    def __call__(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=self.env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    @property
    def serving(self) -> Path:
        return self.var_dir / "serving.duckdb"


@pytest.fixture(scope="module")
def leakwatch(tmp_path_factory: pytest.TempPathFactory) -> Leakwatch:
    return Leakwatch(tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="session")
def published_tiny(tmp_path_factory: pytest.TempPathFactory) -> Leakwatch:
    """One tiny sandbox (seed 3), extracted, built, checked and published once for the whole session.

    Tests that only read it (verify, marts, reports, dashboard) share it; a `leakwatch run` costs a minute or more.
    Tests that plant defects or change the world use their own var folder.
    """
    leakwatch = Leakwatch(tmp_path_factory.mktemp("published_tiny"))
    for args in (("sandbox", "generate", "--preset", "tiny", "--seed", "3", "--free-ports"), ("run",)):
        result = leakwatch(*args)
        assert result.returncode == 0, (
            f"leakwatch {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return leakwatch



SHARED_RUN_FIXTURES = re.compile(r"\b(published_tiny|real_serving_db|dashboard_url)\b")


def modules_reading_the_shared_run(root: Path = PROJECT_ROOT / "tests") -> set[str]:
    """Test modules that use the session's tiny run (`published_tiny` or a fixture built on it)."""
    return {path.relative_to(PROJECT_ROOT).as_posix() for path in root.rglob("test_*.py")
            if SHARED_RUN_FIXTURES.search(path.read_text())}


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201 - xdist's scheduler type
    """`make test` runs two xdist workers with `--dist loadscope`: a module's tests stay on one worker (its
    module fixtures, small worlds and extraction runs, are built once), and every module reading the session's
    tiny run forms one scope, so `published_tiny` is built once, not on both workers. (xdist's own `loadgroup`
    cannot be used: it renames node ids, which pytest 9 no longer allows.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    shared = modules_reading_the_shared_run()

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "published_tiny" if module in shared else module

    return SharedRunScheduling(config, log)
