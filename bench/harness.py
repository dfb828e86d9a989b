"""The bench's world: a real redis-server, the in-process sandbox with an upstream-request counter, and the app.

Everything binds to 127.0.0.1 on free ports and stops when the harness closes.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

import requests

BROWSER_HEADER = "X-Bench-Browser"  # marks the driver's own sandbox page loads, which are not app upstream calls


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """redis-server on a free loopback port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        """Start it and wait for PING."""
        import redis

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(workdir)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def close(self) -> None:
        """Stop the server."""
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class Exchange:
    """One request the sandbox answered."""

    method: str
    path: str
    start: float
    end: float
    browser: bool


class CountingMiddleware:
    """Records every request the sandbox answers, optionally delaying each to make overlap visible."""

    def __init__(self) -> None:
        """Nothing recorded yet; no delay."""
        self.target: Any = None
        self.delay = 0.0
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Answer through the sandbox, timing the whole exchange."""
        started = time.perf_counter()
        browser = BROWSER_HEADER.upper().replace("-", "_") in {k.removeprefix("HTTP_") for k in environ}
        if self.delay and not browser:
            time.sleep(self.delay)
        body = b"".join(self.target(environ, start_response))
        with self._lock:
            self.exchanges.append(Exchange(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), started,
                                           time.perf_counter(), browser))
        return [body]

    def upstream(self) -> list[Exchange]:
        """Requests the app made (not the driver's page loads)."""
        with self._lock:
            return [e for e in self.exchanges if not e.browser]

    def reset(self) -> None:
        """Forget what was recorded."""
        with self._lock:
            self.exchanges.clear()


def serial_depth(exchanges: list[Exchange]) -> int:
    """The longest chain of requests where each starts after the previous one ended (round trips in series)."""
    depth, last_end = 0, float("-inf")
    for exchange in sorted(exchanges, key=lambda e: e.end):
        if exchange.start >= last_end:
            depth += 1
            last_end = exchange.end
    return depth


@dataclass
class World:
    """A running sandbox (with counter), Redis, and the registration the app uses."""

    workdir: Path
    redis: RedisProcess
    sandbox_app: Any
    sandbox_server: Any
    counter: CountingMiddleware
    registration: dict[str, Any]
    config_path: Path
    app_port: int
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def fhir_base(self) -> str:
        """The sandbox's FHIR base (iss)."""
        return self.sandbox_server.url + "/fhir"

    def new_launch(self, **context: Any) -> str:
        """An EHR launch id in the sandbox (the clinician is signed in already)."""
        return self.sandbox_app.extensions["sandbox"].auth.new_launch(**context).launch_id

    def add_resource(self, resource: dict[str, Any]) -> None:
        """Store a resource in the sandbox's FHIR store."""
        self.sandbox_app.extensions["sandbox"].store.create(resource)

    def close(self) -> None:
        """Stop everything started for the bench."""
        for close in reversed(self._closers):
            close()
        self.sandbox_server.shutdown()
        self.redis.close()


def start_world(workdir: Path) -> World:
    """Start Redis, and the sandbox (auto-approving) registered for an app on a reserved port."""
    from sandbox import create_sandbox_app, serve_in_thread

    redis_process = RedisProcess(workdir)
    counter = CountingMiddleware()
    server = serve_in_thread(counter, "127.0.0.1", 0)
    fhir_base = server.url + "/fhir"
    app_port = free_port()
    app_origin = f"http://127.0.0.1:{app_port}"
    base = json.loads((Path(__file__).resolve().parent.parent / "launch.json").read_text())
    registration = {
        "client_name": base["client_name"], "scope": base["scope"],
        "launch_uri": f"{app_origin}/launch", "redirect_uris": [f"{app_origin}/callback"],
        "jwks_uri": f"{app_origin}/.well-known/jwks.json",
        "fhir_servers": [{"name": "Sandbox (bench)", "iss": fhir_base, "client_id": "smart-previsit",
                          "token_endpoint_auth_method": "none", "frame_ancestors": [server.url]}],
    }
    config_path = workdir / "launch.json"
    config_path.write_text(json.dumps(registration))
    counter.target = create_sandbox_app(base_url=server.url, launch_config_path=str(config_path),
                                        db_path=str(workdir / "sandbox.sqlite3"), auto_approve=True)
    return World(workdir=workdir, redis=redis_process, sandbox_app=counter.target, sandbox_server=server,
                 counter=counter, registration=registration, config_path=config_path, app_port=app_port)


def create_bench_app(world: World, instance: Path) -> Any:
    """The app as production builds it (health, audit summaries), on the bench's Redis, in-process."""
    import logging

    from smart_app import audit, create_app, health

    app = create_app({"INSTANCE_PATH": str(instance), "REGISTRATION": world.registration,
                      "SECRET_KEY": "bench-secret", "SESSION_REDIS_URL": world.redis.url})
    health.init_app(app)
    audit.init_app(app)
    handler = audit.configure_log_file(world.workdir / "audit.log")
    handler.setLevel(logging.INFO)
    return app


def browser_session() -> requests.Session:
    """The driver's own HTTP client for sandbox pages, marked so the counter leaves it out."""
    session = requests.Session()
    session.trust_env = False
    session.headers[BROWSER_HEADER] = "1"
    return session


def launch_in_process(client: Any, world: World, launch_id: str, browser: requests.Session) -> tuple[str, Any]:
    """EHR launch through the in-process app (a Flask test client); returns (handle, home response)."""
    start = client.get("/launch", query_string={"iss": world.fhir_base, "launch": launch_id})
    if start.status_code != 302:
        raise RuntimeError(f"/launch answered {start.status_code}")
    at_ehr = browser.get(start.headers["Location"], allow_redirects=False, timeout=30)
    if at_ehr.status_code not in (302, 303):
        raise RuntimeError(f"the sandbox's authorize answered {at_ehr.status_code}")
    back = urlsplit(at_ehr.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(back.query).items()}
    done = client.get(back.path, query_string=params)
    if done.status_code != 303:
        raise RuntimeError(f"/callback answered {done.status_code}")
    home_path = urlsplit(done.headers["Location"]).path
    home = client.get(home_path)
    return home_path.strip("/").split("/")[1], home
