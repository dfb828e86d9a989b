"""serve_in_thread runs any WSGI app on a free loopback port and really stops."""
from __future__ import annotations

import socket

import pytest
import requests
from flask import Flask

from sandbox import serve_in_thread


def test_port_zero_picks_a_free_port_and_shutdown_releases_it():
    app = Flask(__name__)
    app.add_url_rule("/ping", "ping", lambda: "pong")
    handle = serve_in_thread(app, "127.0.0.1", 0)
    assert handle.port > 0 and handle.url == f"http://127.0.0.1:{handle.port}"
    assert requests.get(handle.url + "/ping", timeout=5).text == "pong"
    handle.shutdown()
    handle.shutdown()  # idempotent
    assert not handle.thread.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(handle.url + "/ping", timeout=2)
    with socket.socket() as probe:
        # SO_REUSEADDR tolerates TIME_WAIT from the closed connection, but not a live listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", handle.port))
        probe.listen()
