"""(c) Throughput under gunicorn (2 workers) for the home and PHQ-9 pages with a warm launch, against the bare route."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench.bare import write_template
from bench.harness import World, browser_session, free_port
from bench.roundtrips import CLINICIAN, PATIENT

ROOT = Path(__file__).resolve().parent.parent
WORKERS, THREADS = 2, 4
DURATION = 5  # seconds per load run
CONNECTIONS = 16
COOKIE = "smart_previsit"


class _Server:
    """A gunicorn process started for the bench; stopped on close."""

    def __init__(self, argv: list[str], env: dict[str, str], url: str, log: Path) -> None:
        """Start it and wait until `url` answers 200."""
        self._log = log.open("w")
        self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError(f"server did not start; see {log}")
            time.sleep(0.1)

    def close(self) -> None:
        """SIGTERM and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _warm_launch(world: World, app_url: str) -> tuple[str, str]:
    """An EHR launch against the served app over HTTP; returns (handle, session cookie value)."""
    http = requests.Session()
    http.trust_env = False
    start = http.get(f"{app_url}/launch", params={"iss": world.fhir_base, "launch": world.new_launch(patient=PATIENT, practitioner=CLINICIAN)},
                     allow_redirects=False, timeout=30)
    cookie = start.cookies.get(COOKIE)
    at_ehr = browser_session().get(start.headers["Location"], allow_redirects=False, timeout=30)
    back = urlsplit(at_ehr.headers["Location"])
    done = http.get(f"{app_url}{back.path}", params={k: v[0] for k, v in parse_qs(back.query).items()},
                    headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False, timeout=30)
    if done.status_code != 303:
        raise RuntimeError(f"/callback answered {done.status_code}")
    return urlsplit(done.headers["Location"]).path.strip("/").split("/")[1], cookie


def _wrk(url: str, cookie: str | None) -> dict[str, Any]:
    """Requests per second from wrk (Debian's package)."""
    argv = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s"]
    if cookie:
        argv += ["-H", f"Cookie: {COOKIE}={cookie}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=DURATION + 30).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else None, "tool": "wrk"}


def _python_load(url: str, cookie: str | None) -> dict[str, Any]:
    """A keep-alive load generator on loopback threads, for when wrk is not installed."""
    parts = urlsplit(url)
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    stop = time.monotonic() + DURATION
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()

    def worker() -> None:
        """Send requests back to back until the deadline."""
        conn = HTTPConnection(parts.hostname, parts.port, timeout=30)
        ok = bad = 0
        while time.monotonic() < stop:
            conn.request("GET", parts.path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok, bad = (ok + 1, bad) if response.status == 200 else (ok, bad + 1)
        conn.close()
        with lock:
            counts["ok"] += ok
            counts["bad"] += bad

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": round((counts["ok"] + counts["bad"]) / DURATION, 1), "non_2xx": counts["bad"], "tool": "python"}


def load(url: str, cookie: str | None) -> dict[str, Any]:
    """Measure requests per second for one URL."""
    return _wrk(url, cookie) if shutil.which("wrk") else _python_load(url, cookie)


def measure_throughput(world: World, template_dir: Path) -> dict[str, Any]:
    """Serve the app and the bare route with the same gunicorn settings; load each page in turn."""
    app_url = f"http://127.0.0.1:{world.app_port}"
    env = {**os.environ, "SMART_APP_CONFIG": str(world.config_path), "SESSION_REDIS_URL": world.redis.url,
           "SMART_APP_SECRET_KEY": "bench-secret", "SMART_APP_AUDIT_LOG": str(world.workdir / "audit-gunicorn.log")}
    servers: list[_Server] = []
    try:
        servers.append(_Server([sys.executable, "-m", "smart_app.cli", "serve", "--host", "127.0.0.1",
                                "--port", str(world.app_port), "--workers", str(WORKERS), "--threads", str(THREADS)],
                               env, f"{app_url}/healthz", world.workdir / "gunicorn-app.log"))
        handle, cookie = _warm_launch(world, app_url)
        pages = {"home": f"{app_url}/l/{handle}/", "phq9": f"{app_url}/l/{handle}/questionnaires/phq-9"}
        bare_dir = template_dir / "served"
        for name, url in pages.items():
            page = requests.get(url, headers={"Cookie": f"{COOKIE}={cookie}"}, timeout=30)
            if page.status_code != 200:
                raise RuntimeError(f"{url} answered {page.status_code}")
            write_template(bare_dir, name, page.text)
        bare_port = free_port()
        bare_url = f"http://127.0.0.1:{bare_port}"
        servers.append(_Server([sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--threads", str(THREADS),
                                "--worker-class", "gthread", "--bind", f"127.0.0.1:{bare_port}", "--log-level", "warning",
                                "bench.bare:from_env()"],
                               {**os.environ, "BENCH_BARE_DIR": str(bare_dir)}, f"{bare_url}/home", world.workdir / "gunicorn-bare.log"))
        results: dict[str, Any] = {"workers": WORKERS, "threads": THREADS, "connections": CONNECTIONS, "seconds": DURATION}
        for name, url in pages.items():
            world.counter.reset()
            app_run = load(url, cookie)
            upstream = world.counter.upstream()  # what the sandbox (the EHR) served meanwhile
            bare_run = load(f"{bare_url}/{name}", None)
            results[name] = {"app_rps": app_run["rps"], "bare_rps": bare_run["rps"],
                             "ratio": round(app_run["rps"] / bare_run["rps"], 2) if bare_run["rps"] else None,
                             "app_non_2xx": app_run["non_2xx"], "bare_non_2xx": bare_run["non_2xx"], "tool": app_run["tool"],
                             "ehr_rps": round(len(upstream) / DURATION, 1),
                             "ehr_mean_ms": round(sum(e.end - e.start for e in upstream) * 1000 / max(1, len(upstream)), 1)}
        return results
    finally:
        for server in reversed(servers):
            server.close()
