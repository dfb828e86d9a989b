"""A per-client-address request budget for unauthenticated endpoints (/launch), kept in process memory.

Fixed windows: at most `limit` requests per address per `window` seconds, per app instance. The
table of addresses is bounded (the oldest window's entries are dropped first), so a flood from
many addresses cannot grow memory without bound either. Memory, not the database: counting
must never write durable state for a request nobody authenticated.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_ADDRESSES = 50_000


class RateLimiter:
    """Counts requests per address in the current window; thread-safe."""

    def __init__(self, limit: int, window: float, max_addresses: int = MAX_ADDRESSES) -> None:
        """`limit` requests per `window` seconds per address; 0 or less means unlimited."""
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._counts: OrderedDict[str, tuple[int, int]] = OrderedDict()  # address -> (window number, count)
        self._lock = threading.Lock()

    def allow(self, address: str, now: float | None = None) -> bool:
        """Count one request from `address`; False when it is over its budget for this window."""
        if self.limit <= 0:
            return True
        current = int((time.time() if now is None else now) // self.window)
        with self._lock:
            number, count = self._counts.pop(address, (current, 0))
            if number != current:
                number, count = current, 0
            count += 1
            self._counts[address] = (number, count)  # most recent last
            while len(self._counts) > self.max_addresses:
                self._counts.popitem(last=False)
            return count <= self.limit
