"""Command line: `smart-app serve` (gunicorn, or `--dev`), `smart-app sandbox` (offline EHR plus the app),
`smart-app audit --launch HANDLE` (one launch's audit trail as a story) and `smart-app courier --once`
(send the due pending submissions now).

Configuration is launch.json plus the environment (12-factor); secrets come only from the
environment: SMART_APP_SECRET_KEY, SMART_APP_STORE_KEY, SESSION_REDIS_URL and each server's
`client_secret_env`. Serving knobs: SMART_APP_WORKERS, SMART_APP_THREADS, SMART_APP_PROXY_HOPS,
SMART_APP_AUDIT_LOG (a file, or "-" for stderr only), SMART_APP_COURIER_INTERVAL (seconds between
server-side deliveries of pending submissions, default 5; 0 turns the courier off),
SMART_APP_INSTANCE (the instance folder); command-line flags override them. `--help` on each
subcommand lists every setting, grouped, with its environment variable and default.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    from flask import Flask

    from smart_app.config import Settings

COURIER_INTERVAL = 5.0  # served apps deliver pending submissions this often (seconds)


# Settings that only the environment carries (secrets never go on a command line), by group.
ENV_ONLY = {
    "security": (
        ("SMART_APP_SECRET_KEY", "signs the browser session; also derives the store key when SMART_APP_STORE_KEY is unset",
         "generated once into instance/secret.key"),
        ("SMART_APP_STORE_KEY", "Fernet keys encrypting the launch store, comma-separated, newest first",
         "derived from SMART_APP_SECRET_KEY"),
        ("client_secret_env", "each fhir_servers entry names the variable holding its client secret", "none"),
        ("SMART_APP_CLIENT_RS384_KEY_FILE", "private_key_jwt RS384 signing key (PEM file; or the PEM text in "
         "SMART_APP_CLIENT_RS384_KEY)", "generated into the instance folder"),
        ("SMART_APP_CLIENT_ES384_KEY_FILE", "private_key_jwt ES384 signing key (PEM file; or the PEM text in "
         "SMART_APP_CLIENT_ES384_KEY)", "generated into the instance folder"),
        ("SMART_APP_CLIENT_PUBLISHED_KEYS", "keys published ahead of a switch (comma-separated PEM files)", "none"),
    ),
    "storage": (
        ("SESSION_REDIS_URL", "shared store and sessions for several instances (redis://...)", "filesystem in the instance folder"),
        ("SMART_APP_DATABASE_URL", "the database for durable records", "see README (Production)"),
        ("SMART_APP_INSTANCE", "the instance folder: keys, dev secret, filesystem store, effective registration",
         "./instance beside the code"),
    ),
}


def _group(parser: argparse.ArgumentParser, name: str, title: str) -> argparse._ArgumentGroup:
    """An argument group whose description lists the environment-only settings of that kind."""
    lines = [f"  {env}\n      {text} (default: {default})" for env, text, default in ENV_ONLY.get(name, ())]
    description = ("environment only:\n" + "\n".join(lines)) if lines else None
    return parser.add_argument_group(title, description)


def _add_registration(group: argparse._ArgumentGroup) -> None:
    """--config: the registration file."""
    group.add_argument("--config", help="registration file (env SMART_APP_CONFIG; default ./launch.json); "
                                        "reloaded when it changes (checked every few seconds) or on SIGHUP")


def _parser() -> argparse.ArgumentParser:
    """The command line, every setting with its environment variable and default, grouped."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="smart-app", description="SMART Pre-Visit")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the app with gunicorn (default http://localhost:8000)", formatter_class=formatter,
                           description="Serve the app. Refuses to start when redirect_uris[0] or launch_uri could not "
                                       "reach this listener, unless --proxy-hops says a proxy rewrites them.")
    network = _group(serve, "network", "network")
    network.add_argument("--host", default="localhost", help="interface to listen on (default localhost; 0.0.0.0 for all)")
    network.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    network.add_argument("--proxy-hops", type=int, default=None,
                         help="trusted reverse proxies in front of the app; their X-Forwarded-* headers are honoured and "
                              "the registered URLs are not checked against --host/--port (env SMART_APP_PROXY_HOPS, default 0)")
    network.add_argument("--dev", action="store_true", help="use Flask's development server instead of gunicorn")
    network.add_argument("--workers", type=int, default=_env_int("SMART_APP_WORKERS", 2),
                         help="worker processes (env SMART_APP_WORKERS, default 2)")
    network.add_argument("--threads", type=int, default=_env_int("SMART_APP_THREADS", 8),
                         help="threads per worker (env SMART_APP_THREADS, default 8)")
    network.add_argument("--timeout", type=int, default=60, help="seconds before gunicorn restarts a stuck worker (default 60)")
    _group(serve, "security", "security")
    storage = _group(serve, "storage", "storage")
    _add_registration(storage)
    storage.add_argument("--audit-log", help="audit log file (env SMART_APP_AUDIT_LOG; default instance/audit.log; '-' for stderr)")
    delivery = _group(serve, "delivery", "delivery")
    delivery.add_argument("--courier-interval", type=float, default=None,
                          help="seconds between deliveries of pending submissions after the person left "
                               f"(env SMART_APP_COURIER_INTERVAL, default {COURIER_INTERVAL:g}; 0 turns it off)")

    sandbox = sub.add_parser("sandbox", help="start the offline sandbox EHR and the app together", formatter_class=formatter,
                             description="Start the offline sandbox EHR and the app. Every loopback URL of the registration "
                                         "(iss, launch_uri, redirect_uris, jwks_uri, frame_ancestors) follows --port and "
                                         "--sandbox-port; the registration in use is written to the instance folder and printed.")
    network = _group(sandbox, "network", "network")
    network.add_argument("--host", default="localhost", help="the app's host (default localhost)")
    network.add_argument("--port", type=int, default=8000, help="the app's port (default 8000)")
    network.add_argument("--sandbox-host", default="127.0.0.1",
                         help="the sandbox EHR's host (default 127.0.0.1: another site than the app, so the EHR frame is cross-site)")
    network.add_argument("--sandbox-port", type=int, default=9090, help="the sandbox EHR's port (default 9090)")
    _group(sandbox, "security", "security")
    storage = _group(sandbox, "storage", "storage")
    _add_registration(storage)
    storage.add_argument("--reset", action="store_true", help="re-seed the sandbox's FHIR data")
    storage.add_argument("--sandbox-db", help="the sandbox's SQLite file (default: in its instance folder)")
    storage.add_argument("--audit-log", help="audit log file (env SMART_APP_AUDIT_LOG; default instance/audit.log; '-' for stderr)")
    delivery = _group(sandbox, "delivery", "delivery")
    delivery.add_argument("--courier-interval", type=float, default=None,
                          help=f"seconds between deliveries of pending submissions (env SMART_APP_COURIER_INTERVAL, "
                               f"default {COURIER_INTERVAL:g}; 0 turns it off)")

    courier = sub.add_parser("courier", help="send the pending submissions that are due: --loop is the production "
                                             "worker, --once one round (serve also runs one per worker)")
    mode = courier.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="one delivery round, then exit")
    mode.add_argument("--loop", action="store_true", help="deliver every --interval seconds until stopped (SIGTERM/Ctrl-C)")
    courier.add_argument("--interval", type=float, default=None,
                         help=f"seconds between rounds with --loop (env SMART_APP_COURIER_INTERVAL, default {COURIER_INTERVAL:g})")
    sub.add_parser("purge", help="delete expired launches, drafts and submissions past their retention; prints what went (ids only)")
    audit = sub.add_parser("audit", help="print one launch's audit trail as a story")
    audit.add_argument("--launch", required=True, metavar="HANDLE", help="the launch handle (the id in /l/HANDLE/)")
    audit.add_argument("--log", help="audit log file (default: env SMART_APP_AUDIT_LOG or instance/audit.log)")
    audit.add_argument("--json", action="store_true", help="print the raw JSON events instead of the story")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand; returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "config", None):
        os.environ["SMART_APP_CONFIG"] = args.config
    if getattr(args, "audit_log", None):
        os.environ["SMART_APP_AUDIT_LOG"] = args.audit_log
    if getattr(args, "courier_interval", None) is not None:
        os.environ["SMART_APP_COURIER_INTERVAL"] = str(args.courier_interval)  # gunicorn workers build their own app
    if args.command == "serve":
        return _serve(args)
    if args.command == "audit":
        return _audit(args)
    if args.command == "courier":
        return _courier(args)
    if args.command == "purge":
        return _purge()
    return _sandbox(args)


def _env_int(name: str, default: int) -> int:
    """An integer from the environment, or the default when unset or malformed."""
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _env_float(name: str, default: float) -> float:
    """A number from the environment, or the default when unset or malformed."""
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def production_app(proxy_hops: int | None = None) -> "Flask":
    """The app as served: create_app() plus proxy trust, the audit log file and the courier turned on.

    Usable directly as a gunicorn factory: `gunicorn 'smart_app.cli:production_app()'`.
    """
    from smart_app import create_app
    from smart_app.web.proxy import init_proxy

    # The courier thread starts with the app (one per worker process), not on a first request.
    app = create_app({"COURIER_INTERVAL": _env_float("SMART_APP_COURIER_INTERVAL", COURIER_INTERVAL)})
    init_proxy(app, proxy_hops if proxy_hops is not None else _env_int("SMART_APP_PROXY_HOPS", 0))
    _configure_audit_log(app.instance_path)
    return app


def audit_log_path(instance_path: str | None = None) -> str:
    """Where audit lines go: SMART_APP_AUDIT_LOG, else instance/audit.log ("-" means stderr only)."""
    from smart_app import ROOT

    return os.environ.get("SMART_APP_AUDIT_LOG") or str(Path(instance_path or ROOT / "instance") / "audit.log")


def _configure_audit_log(instance_path: str) -> None:
    """Send audit events to the audit log file (or stderr)."""
    import logging

    from smart_app.audit import events as audit

    path = audit_log_path(instance_path)
    if path == "-":
        if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in audit.logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            audit.logger.addHandler(handler)
            audit.logger.setLevel(logging.INFO)
        return
    audit.configure_log_file(path)


def _build_app(proxy_hops: int | None = None) -> "Flask | None":
    """Create the production app, or print the registration problem and return None."""
    from smart_app.config import ConfigError

    try:
        return production_app(proxy_hops)
    except ConfigError as exc:
        print(f"smart-app: configuration error: {exc}", file=sys.stderr)
        return None


def _check_shared_secrets() -> str | None:
    """Instances sharing Redis must share the store key, which may only come from the environment."""
    if os.environ.get("SESSION_REDIS_URL") and not (os.environ.get("SMART_APP_STORE_KEY") or os.environ.get("SMART_APP_SECRET_KEY")):
        return ("SESSION_REDIS_URL is set, but neither SMART_APP_STORE_KEY nor SMART_APP_SECRET_KEY is: "
                "instances could not read each other's launches. Set the same key on every instance.")
    return None


def _serve(args: argparse.Namespace) -> int:
    """Serve the app in the foreground until Ctrl-C or SIGTERM: gunicorn, or Flask's server with --dev."""
    from smart_app.config import serving_mismatches
    from smart_app.web.security import weak_key_problem

    problem = _check_shared_secrets() or weak_key_problem(os.environ.get("SMART_APP_SECRET_KEY"),
                                                          os.environ.get("SMART_APP_STORE_KEY"))
    if problem:
        print(f"smart-app: configuration error: {problem}", file=sys.stderr)
        return 2
    if args.workers < 1 or args.threads < 1:
        print("smart-app: --workers and --threads must be at least 1", file=sys.stderr)
        return 2
    # Built once here to fail fast on a bad registration, and to create dev keys before workers fork.
    app = _build_app(args.proxy_hops)
    if app is None:
        return 2
    if app.config.get("PROXY_HOPS", 0) == 0:
        problems = serving_mismatches(_settings(app), args.host, args.port)
        if problems:
            print("smart-app: the registration cannot be served here; the EHR would send people where nothing answers:\n"
                  + "\n".join(f"  - {p}" for p in problems)
                  + "\nChange launch.json (or --host/--port), or pass --proxy-hops N when a proxy serves those URLs.",
                  file=sys.stderr)
            return 2
    if args.dev:
        _reload_on_sighup(app)
        print(f"SMART Pre-Visit (development server) on http://{args.host}:{args.port}/", flush=True)
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
        return 0
    print(f"SMART Pre-Visit on http://{args.host}:{args.port}/ (gunicorn, {args.workers} workers x {args.threads} threads)",
          flush=True)
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread" if args.threads > 1 else "sync",
        "timeout": args.timeout,
        "graceful_timeout": 20,
        "accesslog": None,  # access lines would carry /callback?code=...; audit events cover requests
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "smart-app",
        # ProxyFix alone decides what X-Forwarded-* to trust (by hop count); gunicorn must not apply its own rule.
        "secure_scheme_headers": {},
    }
    return _run_gunicorn(options, args.proxy_hops)


def _run_gunicorn(options: dict[str, Any], proxy_hops: int | None) -> int:
    """Run gunicorn's arbiter with our options; each worker builds its own app."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        """gunicorn configured from our options rather than its own command line."""

        def load_config(self) -> None:
            """Apply our options."""
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> "Flask":  # type: ignore[override]  # types-gunicorn's WSGI callable type rejects Flask.__call__, a valid WSGI app
            """Build the app in the worker (no sockets or threads shared across fork)."""
            return production_app(proxy_hops)

    Server().run()
    return 0


def _audit(args: argparse.Namespace) -> int:
    """Print one launch's audit trail from the log file."""
    from smart_app.audit import story

    path = Path(args.log or audit_log_path())
    if not path.exists():
        print(f"smart-app: no audit log at {path}", file=sys.stderr)
        return 1
    with path.open(encoding="utf-8") as fh:
        events = list(story.read_events(fh))
    if args.json:
        import json

        for item in story.launch_trail(events, args.launch):
            print(json.dumps(item, sort_keys=True))
        return 0
    text = story.story(events, args.launch)
    print(text)
    return 0 if not text.startswith("no audit events") else 1


def _courier(args: argparse.Namespace) -> int:
    """Deliver due pending submissions: one round (--once), or rounds until SIGTERM/Ctrl-C (--loop)."""
    interval = args.interval if args.interval is not None else _env_float("SMART_APP_COURIER_INTERVAL", COURIER_INTERVAL)
    os.environ["SMART_APP_COURIER_INTERVAL"] = "0"  # this process is the courier: no second thread inside it
    app = _build_app()
    if app is None:
        return 2
    from smart_app.delivery.courier import deliver_due, run_loop

    if args.once:
        sent = deliver_due(app)
        print(f"smart-app courier: {sent} pending submission(s) sent", flush=True)
        return 0
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"smart-app courier: delivering every {interval:g} s", flush=True)
    try:
        run_loop(app, interval, stop)
    except KeyboardInterrupt:
        pass
    print("smart-app courier: stopped", flush=True)
    return 0


def _purge() -> int:
    """Run the retention purge once and print what it removed (ids and counts only)."""
    os.environ["SMART_APP_COURIER_INTERVAL"] = "0"
    app = _build_app()
    if app is None:
        return 2
    from smart_app.delivery.retention import purge

    report = purge(app)
    print(json.dumps(report.to_dict(), sort_keys=True), flush=True)
    return 0


def _settings(app: "Flask") -> "Settings":
    """The app's registration in force."""
    from smart_app.launch.runtime import EXTENSION

    return app.extensions[EXTENSION].settings


def _reload_on_sighup(app: "Flask") -> None:
    """SIGHUP re-reads launch.json on the next request (gunicorn's own SIGHUP restarts workers, which re-read it too)."""
    import signal

    from smart_app.launch.runtime import EXTENSION

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda *_: app.extensions[EXTENSION].registration.request_reload())


def effective_registration_path() -> Path:
    """Where `smart-app sandbox` writes the registration it runs with."""
    from smart_app import instance_path

    return Path(instance_path()) / "launch.effective.json"


def _local_settings_loader(app_origin: str, sandbox_origin: str) -> "Callable[[str], Settings]":
    """Read a registration file and move its loopback URLs to the ports in use (also used on reload)."""
    from smart_app.config import ConfigError, local_registration, parse_settings

    def load(path: str) -> "Settings":
        """The file's registration at the local origins, validated; the effective copy is rewritten."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(path, "(file)", "file not found") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(path, "(file)", f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(raw, dict):
            raise ConfigError(path, "(top level)", "must be a JSON object")
        doc = local_registration(raw, app_origin=app_origin, sandbox_origin=sandbox_origin)
        settings = parse_settings(doc, path)
        target = effective_registration_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return settings

    return load


def _sandbox(args: argparse.Namespace) -> int:
    """Start the sandbox EHR and the app on background threads, at the ports asked for; Ctrl-C stops both."""
    try:
        from sandbox import create_sandbox_app, serve_in_thread
        from sandbox.serve import run_until_stopped
    except ImportError as exc:
        print(f"smart-app: the sandbox is not available in this checkout ({exc}). "
              "Run `smart-app serve` and launch against a SMART server listed in launch.json.", file=sys.stderr)
        return 3
    from smart_app.config import ConfigError, default_config_path, origin_for
    from smart_app.launch.runtime import EXTENSION, Registration

    source = default_config_path()
    app_origin, sandbox_base = origin_for(args.host, args.port), origin_for(args.sandbox_host, args.sandbox_port)
    loader = _local_settings_loader(app_origin, sandbox_base)
    try:
        loader(source)  # validates, and writes the effective registration both the app and the sandbox read
    except ConfigError as exc:
        print(f"smart-app: configuration error: {exc}", file=sys.stderr)
        return 2
    effective = effective_registration_path()
    os.environ["SMART_APP_CONFIG"] = str(effective)
    app = _build_app()
    if app is None:
        return 2
    # Edits to the source file (not the derived copy) reload the app's registration.
    runtime = app.extensions[EXTENSION]
    runtime.registration = Registration(runtime.settings, source, loader=loader)
    _reload_on_sighup(app)
    settings = runtime.settings
    ehr = create_sandbox_app(base_url=sandbox_base, launch_config_path=str(effective),
                             app_launch_url=settings.launch_uri or f"{app_origin}/launch", reset=args.reset,
                             db_path=args.sandbox_db)
    print(f"Registration in use (from {source}, written to {effective}):", flush=True)
    print(effective.read_text(encoding="utf-8"), flush=True)
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
        f"  The app:                       {app_origin}/",
        "Press Ctrl-C to stop both.",
    )), flush=True)
    run_until_stopped(*servers)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
