"""The app and the floor as production serves them: gunicorn, same workers and threads, in their own processes."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench.harness import World, browser_session, cpu_seconds, free_port, process_tree
from bench.roundtrips import CLINICIAN, PATIENT

# serve refuses a weak secret; one per bench process, shared by both instances of the mix in (c).
APP_SECRET = secrets.token_urlsafe(48)

ROOT = Path(__file__).resolve().parent.parent
WORKERS, THREADS = 2, 8  # `smart-app serve` defaults (SMART_APP_WORKERS, SMART_APP_THREADS)
COOKIE = "smart_previsit"


class Server:
    """A process started for the bench; stopped on close."""

    def __init__(self, argv: list[str], env: dict[str, str], url: str, log: Path) -> None:
        """Start it and wait until `url` answers 200."""
        self._log = log.open("w")
        self.log = log
        self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still importing
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError(f"server did not start; see {log}: " + log.read_text(errors="replace")[-300:])
            time.sleep(0.1)

    def cpu(self) -> float:
        """CPU seconds used so far by the server and its workers."""
        return cpu_seconds(process_tree(self.process.pid))

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


def app_env(world: World, name: str) -> dict[str, str]:
    """The environment `smart-app serve` reads: registration, shared Redis, secrets, audit log."""
    return {**os.environ, "SMART_APP_CONFIG": str(world.config_path), "SESSION_REDIS_URL": world.redis.url,
            "SMART_APP_SECRET_KEY": APP_SECRET, "SMART_APP_AUDIT_LOG": str(world.workdir / f"audit-{name}.log")}


def start_app(world: World, port: int, name: str = "app") -> Server:
    """`smart-app serve` with production settings on 127.0.0.1:port (its own launch and callback URLs first)."""
    import json

    url = f"http://127.0.0.1:{port}"
    env = app_env(world, name)
    if port != world.app_port:
        registration = dict(world.registration)
        own = f"{url}/callback"
        registration["launch_uri"] = f"{url}/launch"
        registration["redirect_uris"] = [own] + [u for u in registration["redirect_uris"] if u != own]
        config = world.workdir / f"launch-{name}.json"
        config.write_text(json.dumps(registration))
        env["SMART_APP_CONFIG"] = str(config)
    return Server([sys.executable, "-m", "smart_app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(WORKERS), "--threads", str(THREADS)],
                  env, f"{url}/healthz", world.workdir / f"gunicorn-{name}.log")


def start_floor(world: World, floor_file: Path) -> tuple[Server, str]:
    """The floor under gunicorn with the same workers, threads and worker class; returns (server, base URL)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Server([sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--threads", str(THREADS),
                     "--worker-class", "gthread", "--timeout", "60", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                     "bench.floor:from_env()"],
                    {**os.environ, "BENCH_FLOOR_FILE": str(floor_file)}, f"{url}/floor-login", world.workdir / "gunicorn-floor.log")
    return server, url


def warm_launch(world: World, app_url: str, **context: Any) -> tuple[str, str]:
    """An EHR launch against a served app over HTTP; returns (handle, session cookie value)."""
    http = requests.Session()
    http.trust_env = False
    launch_id = world.new_launch(**({"patient": PATIENT, "practitioner": CLINICIAN} | context))
    start = http.get(f"{app_url}/launch", params={"iss": world.fhir_base, "launch": launch_id}, allow_redirects=False, timeout=30)
    # /launch sets the sign-in cookie (Secure, so sent by hand over http); the callback rotates the session.
    sign_in = "; ".join(f"{c.name}={c.value}" for c in start.cookies)
    at_ehr = browser_session().get(start.headers["Location"], allow_redirects=False, timeout=30)
    back = urlsplit(at_ehr.headers["Location"])
    done = http.get(f"{app_url}{back.path}", params={k: v[0] for k, v in parse_qs(back.query).items()},
                    headers={"Cookie": sign_in}, allow_redirects=False, timeout=30)
    if done.status_code != 303:
        raise RuntimeError(f"/callback answered {done.status_code}")
    cookie = done.cookies.get(COOKIE) or start.cookies.get(COOKIE)
    return urlsplit(done.headers["Location"]).path.strip("/").split("/")[1], cookie
