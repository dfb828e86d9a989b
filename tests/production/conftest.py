"""Fixtures for the production tests: start app instances that stop by themselves after each test."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest

from tests.production.instances import Instance, start_instance


@pytest.fixture
def start_instances(tmp_path: Path, client_key_paths: dict[str, str], app_database_url: str,
                    new_database_url: Callable[[], str]) -> Iterator[Callable[..., list[Instance]]]:
    """`start_instances(registration, count=2, redis_url=...)`: separate apps on free ports, stopped after the test."""
    running: list[Instance] = []

    def start(registration: Mapping[str, Any], *, count: int = 2, redis_url: str | None = None) -> list[Instance]:
        """Start `count` instances sharing `redis_url` and one database (or each with its own embedded store)."""
        started = [start_instance(tmp_path / f"instance-{len(running) + i}", registration, redis_url=redis_url,
                                  keys=client_key_paths, database_url=app_database_url if redis_url else new_database_url())
                   for i in range(count)]
        running.extend(started)
        return started

    yield start
    for instance in running:
        instance.server.shutdown()
