"""A second EHR-shaped listener: a hostile registered EHR, or an off-origin host that must never be reached."""
from __future__ import annotations

from typing import Iterator

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture
def other_host() -> Iterator[HTTPServer]:
    """A second loopback HTTP server (another origin) that records every request it gets."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()
