"""Command line: `smart-app serve` (the app) and `smart-app sandbox` (the offline EHR plus the app)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Sequence
from urllib.parse import urlsplit


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand; returns the exit status."""
    parser = argparse.ArgumentParser(prog="smart-app", description="SMART Pre-Visit")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the app (default http://localhost:8000)")
    serve.add_argument("--host", default="localhost")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--config", help="registration file (default: env SMART_APP_CONFIG or ./launch.json)")
    sandbox = sub.add_parser("sandbox", help="start the offline sandbox EHR and the app together")
    sandbox.add_argument("--host", default="localhost", help="app host")
    sandbox.add_argument("--port", type=int, default=8000, help="app port")
    sandbox.add_argument("--sandbox-host", default="127.0.0.1")
    sandbox.add_argument("--sandbox-port", type=int, default=9090)
    sandbox.add_argument("--config", help="registration file shared by the app and the sandbox")
    sandbox.add_argument("--reset", action="store_true", help="re-seed the sandbox's FHIR data")
    args = parser.parse_args(argv)
    if args.config:
        os.environ["SMART_APP_CONFIG"] = args.config
    if args.command == "serve":
        return _serve(args.host, args.port)
    return _sandbox(args)


def _build_app():
    """Create the app, or print the registration problem and return None."""
    from smart_app import create_app
    from smart_app.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        print(f"smart-app: configuration error: {exc}", file=sys.stderr)
        return None


def _serve(host: str, port: int) -> int:
    """Serve the app in the foreground until Ctrl-C."""
    app = _build_app()
    if app is None:
        return 2
    _warn_if_redirect_mismatch(app, host, port)
    print(f"SMART Pre-Visit on http://{host}:{port}/", flush=True)
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    """Start the sandbox EHR and the app on background threads; Ctrl-C stops both."""
    try:
        from sandbox import create_sandbox_app, serve_in_thread
    except ImportError as exc:
        print(f"smart-app: the sandbox is not available in this checkout ({exc}). "
              "Run `smart-app serve` and launch against a SMART server listed in launch.json.", file=sys.stderr)
        return 3
    app = _build_app()
    if app is None:
        return 2
    from smart_app.config import default_config_path
    from smart_app.launch.runtime import runtime

    with app.app_context():
        settings = runtime().settings
    sandbox_base = f"http://{args.sandbox_host}:{args.sandbox_port}"
    ehr = create_sandbox_app(base_url=sandbox_base, launch_config_path=settings.source if settings.source != "REGISTRATION" else default_config_path(),
                             app_launch_url=settings.launch_uri or f"http://{args.host}:{args.port}/launch", reset=args.reset)
    _warn_if_redirect_mismatch(app, args.host, args.port)
    servers = []
    try:
        servers.append(serve_in_thread(ehr, args.sandbox_host, args.sandbox_port))
        servers.append(serve_in_thread(app, args.host, args.port))
    except OSError as exc:
        print(f"smart-app: could not listen: {exc}", file=sys.stderr)
        for server in servers:
            server.shutdown()
        return 1
    print("\n".join((
        "SMART Pre-Visit with the offline sandbox EHR:",
        f"  EHR shell (clinician launch):  {sandbox_base}/ehr/",
        f"  Patient portal (standalone):   {sandbox_base}/portal",
        f"  Developer page:                {sandbox_base}/dev",
        f"  The app:                       http://{args.host}:{args.port}/",
        "Press Ctrl-C to stop both.",
    )), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for server in reversed(servers):
            server.shutdown()
    print("stopped", flush=True)
    return 0


def _warn_if_redirect_mismatch(app, host: str, port: int) -> None:
    """EHRs only redirect to the registered URI; say so when we listen elsewhere."""
    from smart_app.launch.runtime import EXTENSION

    redirect = urlsplit(app.extensions[EXTENSION].settings.redirect_uri)
    if (redirect.hostname, redirect.port or 80) != (host, port):
        print(f"smart-app: note: redirect_uris[0] is {redirect.geturl()}, but the app listens on {host}:{port}",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
