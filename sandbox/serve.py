"""Run a WSGI app on a background thread (tests, the browser suite, `smart-app sandbox`)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class ServerHandle:
    """A running threaded server; `shutdown()` stops it and waits for the thread."""

    server: BaseWSGIServer
    thread: threading.Thread
    host: str
    port: int
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """http://host:port of the running server."""
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve_in_thread(app: Flask, host: str, port: int) -> ServerHandle:
    """Serve `app` with werkzeug's threaded server on host:port (port 0 picks a free port)."""
    server = make_server(host, port, app, threaded=True)
    # A short poll interval makes shutdown() return quickly (tests start and stop many servers).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"wsgi-{host}:{server.server_port}", daemon=True)
    thread.start()
    return ServerHandle(server=server, thread=thread, host=host, port=server.server_port)
