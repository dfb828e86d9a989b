"""Liveness (`/healthz`) and readiness (`/readyz`) probes for load balancers and orchestrators.

Readiness means: the launch store answers, and every registered server's SMART discovery is
cached or reachable. Discovery runs on the process's read pool (smart_app/ehr/reads.py) with a short deadline, so a slow EHR makes
the probe say "not ready" quickly instead of holding a worker; the check keeps running and
warms the cache for the next probe.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, wait
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from smart_app.ehr.reads import submit_probe
from smart_app.errors import DiscoveryError, LaunchError
from smart_app.launch.runtime import Runtime, runtime

bp = Blueprint("health", __name__)
READY_DEADLINE = 2.0  # seconds a readiness probe may wait for discovery
EXTENSION = "smart_health"


class DiscoveryProbe:
    """Checks discovery for many servers at once, with at most one check in flight per server."""

    def __init__(self) -> None:
        """No check in flight yet."""
        self._inflight: dict[str, Future] = {}
        self._lock = threading.Lock()

    def check(self, rt: Runtime, deadline: float = READY_DEADLINE) -> dict[str, str]:
        """Per iss: "ok", "unreachable", "timeout" (the server's or ours: still checking in the background),
        "not_smart" (it answered without SMART endpoints) or "refused" (its endpoints failed our checks)."""
        futures: dict[str, Future] = {}
        with self._lock:
            for server in rt.settings.concrete_servers:
                future = self._inflight.get(server.iss)
                if future is None or future.done():
                    future = submit_probe(partial(_discover, rt, server.iss))
                    self._inflight[server.iss] = future
                futures[server.iss] = future
        wait(futures.values(), timeout=deadline)
        return {iss: (f.result() if f.done() else "timeout") for iss, f in futures.items()}


def _discover(rt: Runtime, iss: str) -> str:
    """"ok" when the server's SMART configuration is cached or could be fetched now; else why not."""
    try:
        rt.discovery.get(iss, rt.http())
    except DiscoveryError as exc:
        return exc.kind
    except LaunchError:
        return "refused"
    return "ok"


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers HTTP; nothing external is checked."""
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: the store answers and every registered server's discovery is cached or reachable."""
    rt = runtime()
    store_ok = rt.store.ping() and _sessions_ok()
    servers = current_app.extensions[EXTENSION].check(rt)
    ready = store_ok and all(status == "ok" for status in servers.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "store": "ok" if store_ok else "unreachable",
                            "servers": servers}
    return _no_store(jsonify(body)), 200 if ready else 503


def _sessions_ok() -> bool:
    """The browser-session backend answers: Redis when configured (the database is pinged above)."""
    cache = getattr(current_app.session_interface, "cache", None)
    client = getattr(cache, "_write_client", None)
    if client is None:
        return True
    try:
        return bool(client.ping())
    except Exception:  # any Redis failure means "not ready", never a crash
        return False


def _no_store(response: Response) -> Response:
    """Probes must never be answered from a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the probes once (safe to call from both the factory and the server entry point)."""
    if EXTENSION in app.extensions:
        return
    app.extensions[EXTENSION] = DiscoveryProbe()
    app.register_blueprint(bp)
