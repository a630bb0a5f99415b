"""Shared fixtures: an isolated var/ folder per test module and a helper to call the `leakwatch` CLI."""

from __future__ import annotations

import os
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (`make test` runs `-n 2 --dist loadgroup`): every test that reads the session's tiny run
    goes to one worker, so `published_tiny` is built once; the other tests go by module, so a module's fixtures
    (small worlds, extraction runs) are built once too."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        group = "published_tiny" if "published_tiny" in fixtures else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
