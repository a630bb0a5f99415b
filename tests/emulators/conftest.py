"""Fixtures for the emulator tests: a tiny generated world and a running Shopify emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

from sandbox.emulators.server import EmulatorHandle, start_background_thread
from sandbox.emulators.shopify import COST_LIMITS_ENV
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


@contextmanager
def no_cost_limits() -> Iterator[None]:
    """Shopify emulators created inside report query costs but refuse nothing (`shopify.create_app`): the shape
    tests send pages Shopify would call too costly; cost and throttling are tested in test_shopify_cost."""
    before = os.environ.get(COST_LIMITS_ENV)
    os.environ[COST_LIMITS_ENV] = "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(COST_LIMITS_ENV, None)
        else:
            os.environ[COST_LIMITS_ENV] = before


@pytest.fixture(scope="session")
def emulator(world_dir: Path) -> Iterator[EmulatorHandle]:
    """The Shopify emulator on a free loopback port (without cost limits: see `no_cost_limits`)."""
    with no_cost_limits():
        handle = start_background_thread(world_dir)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client
