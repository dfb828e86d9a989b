"""The bench's world: a real redis-server, the in-process sandbox with an upstream-request counter, and the app.

Everything binds to 127.0.0.1 on free ports and stops when the harness closes.
"""
from __future__ import annotations

import io
import json
import os
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


class EhrProcess:
    """The EHR front (bench.ehr) in its own processes, in front of the in-process sandbox."""

    def __init__(self, workdir: Path, upstream: str, workers: int = 2) -> None:
        """Start it with an empty table (everything forwarded) and wait until it answers."""
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.table_path = workdir / "ehr-table.json"
        self.set_table([], delay_ms=0)
        self._log = (workdir / "ehr.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "bench.ehr", "--port", str(self.port), "--upstream", upstream,
                                         "--table", str(self.table_path), "--workers", str(workers)],
                                        cwd=Path(__file__).resolve().parent.parent, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError("the bench EHR did not start") from None
                time.sleep(0.05)

    def set_table(self, canned: list[dict[str, Any]], *, delay_ms: float = 0) -> None:
        """Replace what the EHR answers from memory and how long it holds each answer (picked up on the next request)."""
        tmp = self.table_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"delay_ms": delay_ms, "canned": canned}), encoding="utf-8")
        tmp.replace(self.table_path)
        # Modification times can be coarse: make the change visible even within the same tick.
        os.utime(self.table_path, ns=(time.time_ns(), time.time_ns()))

    def pids(self) -> list[int]:
        """The front's processes (parent and workers), for CPU accounting."""
        return process_tree(self.process.pid)

    def close(self) -> None:
        """Stop the front and its workers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def process_tree(root: int) -> list[int]:
    """`root` and every process descending from it (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Exchange:
    """One request the sandbox answered."""

    method: str
    path: str
    start: float
    end: float
    browser: bool
    target: str = ""  # path and query as sent
    body: str = ""  # the request body of a batch of reads (what the EHR front keys its answer by)


def _batch_of_reads(environ: dict) -> str:
    """The body of a FHIR batch Bundle of GETs (a page's reads in one request), put back for the sandbox; else ""."""
    if environ["REQUEST_METHOD"] != "POST" or environ.get("PATH_INFO", "").rstrip("/") != "/fhir":
        return ""
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        bundle = json.loads(raw)
    except ValueError:
        return ""
    entries = bundle.get("entry") or [] if isinstance(bundle, dict) else []
    reads_only = bundle.get("type") == "batch" and all((e.get("request") or {}).get("method") == "GET" for e in entries)
    return raw.decode("utf-8") if reads_only else ""


class CountingMiddleware:
    """Records every request the sandbox answers, optionally delaying each to make overlap visible."""

    def __init__(self) -> None:
        """Nothing recorded yet; no delay."""
        self.target: Any = None
        self.delay = 0.0
        self.exchanges: list[Exchange] = []
        self.recording = False
        self.recorded: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Answer through the sandbox, timing the whole exchange."""
        started = time.perf_counter()
        browser = BROWSER_HEADER.upper().replace("-", "_") in {k.removeprefix("HTTP_") for k in environ}
        if self.delay and not browser:
            time.sleep(self.delay)
        sent = _batch_of_reads(environ)
        if not (self.recording and not browser and (sent or environ["REQUEST_METHOD"] == "GET" and environ.get("PATH_INFO", "").startswith("/fhir/"))):
            body = b"".join(self.target(environ, start_response))
        else:
            answer: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                """Keep the status and headers of a read, then pass them on."""
                answer["status"], answer["headers"] = int(status.split()[0]), headers
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            body = b"".join(self.target(environ, capture))
            target = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", "")
            if answer.get("status") == 200:
                keep = {k: v for k, v in answer["headers"] if k.lower() in ("content-type", "etag", "last-modified")}
                method = environ["REQUEST_METHOD"]
                with self._lock:
                    self.recorded[(method, target, sent)] = {"method": method, "target": target, "body": sent, "status": 200,
                                                             "headers": keep, "response_body": body.decode("utf-8")}
        with self._lock:
            self.exchanges.append(Exchange(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), started,
                                           time.perf_counter(), browser,
                                           environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", ""),
                                           sent))
        return [body]

    def upstream(self) -> list[Exchange]:
        """Requests the app made (not the driver's page loads)."""
        with self._lock:
            return [e for e in self.exchanges if not e.browser]

    def everything(self) -> list[Exchange]:
        """Every request since the last reset, the driver's visits to the EHR included."""
        with self._lock:
            return list(self.exchanges)

    def recorded_reads(self) -> list[dict[str, Any]]:
        """The reads recorded while `recording` was on, as the EHR front's table wants them."""
        with self._lock:
            return list(self.recorded.values())

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
    ehr: EhrProcess
    counter: CountingMiddleware
    registration: dict[str, Any]
    config_path: Path
    app_port: int
    second_port: int = 0  # a second instance for the shared-Redis mix, registered too
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def fhir_base(self) -> str:
        """The EHR's FHIR base (iss): the front process, which answers for the sandbox."""
        return self.ehr.url + "/fhir"

    def can_reads(self) -> int:
        """From now on the EHR front answers every read recorded so far from memory; returns how many."""
        canned = self.counter.recorded_reads()
        self.ehr.set_table(canned)
        return len(canned)

    def uncan(self, delay_ms: float = 0) -> None:
        """Forward everything to the sandbox again, each answer held `delay_ms`."""
        self.ehr.set_table([], delay_ms=delay_ms)

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
        self.ehr.close()
        self.sandbox_server.shutdown()
        self.redis.close()


def start_world(workdir: Path) -> World:
    """Start Redis, and the sandbox (auto-approving) registered for an app on a reserved port."""
    from sandbox import create_sandbox_app, serve_in_thread

    redis_process = RedisProcess(workdir)
    counter = CountingMiddleware()
    server = serve_in_thread(counter, "127.0.0.1", 0)
    ehr = EhrProcess(workdir, server.url)
    fhir_base = ehr.url + "/fhir"
    app_port, second_port = free_port(), free_port()
    app_origin = f"http://127.0.0.1:{app_port}"
    base = json.loads((Path(__file__).resolve().parent.parent / "launch.json").read_text())
    registration = {
        "client_name": base["client_name"], "scope": base["scope"],
        "launch_uri": f"{app_origin}/launch", "redirect_uris": [f"{app_origin}/callback", f"http://127.0.0.1:{second_port}/callback"],
        "jwks_uri": f"{app_origin}/.well-known/jwks.json",
        "fhir_servers": [{"name": "Sandbox (bench)", "iss": fhir_base, "client_id": "smart-previsit",
                          "token_endpoint_auth_method": "none", "frame_ancestors": [ehr.url]}],
    }
    config_path = workdir / "launch.json"
    config_path.write_text(json.dumps(registration))
    counter.target = create_sandbox_app(base_url=ehr.url, launch_config_path=str(config_path),
                                        db_path=str(workdir / "sandbox.sqlite3"), auto_approve=True)
    return World(workdir=workdir, redis=redis_process, sandbox_app=counter.target, sandbox_server=server, ehr=ehr,
                 counter=counter, registration=registration, config_path=config_path, app_port=app_port,
                 second_port=second_port)


def create_bench_app(world: World, instance: Path) -> Any:
    """The app as production builds it (health, audit summaries), on the bench's Redis, in-process."""
    import logging

    from smart_app.audit import events as audit
    from smart_app import create_app
    from smart_app.web import health

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
