"""Thread pools kept per process: starting threads for every page cost more than the page's own work.

`process_pool(name, workers)` gives the pool of that name for this process (a forked worker gets
its own). `submit_read` runs one *leaf* EHR or store read on the shared read pool: a leaf never
submits to that pool itself and never waits on another leaf, so the pool cannot deadlock however
busy it is; callers that fan out (a page, a task provider) run elsewhere and only wait on leaves.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")
READ_THREADS = 16

_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_lock = threading.Lock()


def process_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """This process's pool called `name`, created on first use with `workers` threads."""
    with _lock:
        found = _pools.get(name)
        if found is None or found[0] != os.getpid():
            found = _pools[name] = (os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name))
        return found[1]


def submit_read(call: Callable[[], T]) -> "Future[T]":
    """Run one leaf read (it must not submit reads itself) on the process's read pool."""
    return process_pool("fhir-read", READ_THREADS).submit(call)
