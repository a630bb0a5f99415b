"""A world held in memory by an emulator, reloaded when the sandbox clock moves (meta.json changes)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorldCache(Generic[T]):
    """`load(world_dir)` once, and again whenever `meta.json` changes (mtime or size): `sandbox advance` moves
    the clock under a running emulator.

    A reload that fails (e.g. meta.json caught half-written) keeps serving the previous world and is retried on
    the next request.
    """

    def __init__(self, world_dir: Path, load: Callable[[Path], T]) -> None:
        self.world_dir = Path(world_dir)
        self._load = load
        self._stamp: tuple[int, int] | None = None
        self._world: T | None = None
        self._lock = threading.Lock()

    def _meta_stamp(self) -> tuple[int, int]:
        st = (self.world_dir / "meta.json").stat()
        return st.st_mtime_ns, st.st_size

    def get(self) -> T:
        """The current world; re-read from disk if meta.json changed since the last load."""
        stamp = self._meta_stamp()
        with self._lock:
            if self._world is None or stamp != self._stamp:
                try:
                    self._world = self._load(self.world_dir)
                except Exception:
                    if self._world is None:
                        raise
                    log.warning("reloading the world at %s failed; serving the previous clock", self.world_dir,
                                exc_info=True)
                    return self._world
                self._stamp = stamp
            return self._world
