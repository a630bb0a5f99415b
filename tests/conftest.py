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
