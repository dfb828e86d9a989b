"""Run a WSGI app on a background thread (tests, the browser suite, `smart-app sandbox`)."""
from __future__ import annotations

import signal
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


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox alone in the foreground: `python -m sandbox.serve [--port 9090] [--reset]`."""
    import argparse

    from .app import create_sandbox_app

    parser = argparse.ArgumentParser(prog="python -m sandbox.serve", description="Run the offline SMART sandbox EHR.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--config", help="launch.json to register the app from")
    parser.add_argument("--db", help="SQLite file for the FHIR data")
    parser.add_argument("--app-launch-url", help="the app's launch URL (default: launch_uri in launch.json)")
    parser.add_argument("--auto-approve", action="store_true", help="skip the approval screen")
    parser.add_argument("--reset", action="store_true", help="restore the seeded data")
    args = parser.parse_args(argv)
    app = create_sandbox_app(base_url=f"http://{args.host}:{args.port}", launch_config_path=args.config,
                             db_path=args.db, app_launch_url=args.app_launch_url,
                             auto_approve=args.auto_approve, reset=args.reset)
    handle = serve_in_thread(app, args.host, args.port)
    print(f"Sandbox EHR: {handle.url}/ehr/  portal: {handle.url}/portal  developer: {handle.url}/dev", flush=True)
    run_until_stopped(handle)
    return 0


def run_until_stopped(*handles: ServerHandle) -> None:
    """Block until Ctrl-C or SIGTERM, then shut the servers down, last started first."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for handle in reversed(handles):
            handle.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
