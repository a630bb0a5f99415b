"""Fixtures for the emulator tests: a tiny generated world and a running Shopify emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from sandbox.emulators.server import EmulatorHandle, start_background_thread
from sandbox.world import load_world, world_at
from sandbox.world.generate import generate_world

TINY_SEED = 7


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny world written by the sandbox generator (shared, never modified by tests)."""
    return generate_world("tiny", TINY_SEED, tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tables(world_dir: Path) -> dict[str, pd.DataFrame]:
    """The world's tables at its clock, per the contract (`world_at`), to compute expectations from."""
    return world_at(load_world(world_dir)).tables()


@pytest.fixture(scope="session")
def emulator(world_dir: Path) -> Iterator[EmulatorHandle]:
    """The Shopify emulator on a free loopback port."""
    handle = start_background_thread(world_dir)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client
