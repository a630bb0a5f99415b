"""A deterministic request limiter shared by the emulators (their optional 429 mode)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """At most `per_second` requests per key in each whole second of `clock()` (fixed windows: deterministic)."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_second < 1:
            raise ValueError("rate_limit_per_second must be at least 1")
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def allow(self, key: str) -> bool:
        """Count one request of `key`; False when its window is already full."""
        window = int(self._clock())
        with self._lock:
            current, used = self._windows.get(key, (window, 0))
            if current != window:
                used = 0
            if used >= self.per_second:
                self._windows[key] = (window, used)
                return False
            self._windows[key] = (window, used + 1)
            return True
