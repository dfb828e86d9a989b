"""`smart-app serve` under gunicorn, proxy trust by hop count, and the /healthz and /readyz probes."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug import Request, Response

from smart_app import create_app
from smart_app.web import health
from smart_app.cli import main
from smart_app.web.proxy import init_proxy
from tests.fixtures.app import registration
from tests.fixtures.e2e import e2e_registration
from tests.fixtures.overlap import PATIENCE

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A currently free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ready_answer(base: str) -> requests.Response:
    """/readyz of a just-started server, once ready (or the first answer that is not merely "still checking").

    A worker's first probe waits at most health.READY_DEADLINE for discovery; on a loaded machine a fresh
    worker can take longer, and then the probe says "timeout" while the check goes on and warms the cache
    for the next probe. So ask again while, and only while, that is all the answer says (PATIENCE bounds it).
    """
    deadline = time.monotonic() + PATIENCE
    while True:
        response = requests.get(base + "/readyz", timeout=PATIENCE)
        body = response.json()
        still_checking = response.status_code == 503 and body.get("store") == "ok" and \
            set(body.get("servers", {}).values()) <= {"ok", "timeout"}
        if not still_checking or time.monotonic() > deadline:
            return response
        threading.Event().wait(0.1)


def _children(pid: int) -> list[int]:
    """Direct child processes of pid (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


@pytest.fixture
def served(tmp_path, e2e_sandbox, redis_url, app_database_url):
    """`smart-app serve` (gunicorn, 2 workers) against the sandbox and Redis, stopped after the test."""
    port = _free_port()
    config = tmp_path / "launch.json"
    config.write_text(json.dumps(e2e_registration(e2e_sandbox.fhir_base, app_origin=f"http://127.0.0.1:{port}")))
    env = {**os.environ, "SMART_APP_CONFIG": str(config), "SESSION_REDIS_URL": redis_url,
           "SMART_APP_DATABASE_URL": app_database_url, "SMART_APP_SECRET_KEY": secrets.token_urlsafe(48),
           "SMART_APP_AUDIT_LOG": str(tmp_path / "audit.log")}
    output = (tmp_path / "serve.out").open("w")
    process = subprocess.Popen([sys.executable, "-m", "smart_app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--workers", "2", "--threads", "2"], env=env, cwd=ROOT,
                               stdout=output, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    try:
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.close()


@pytest.mark.redis
def test_serve_runs_gunicorn_with_two_workers_that_answer_the_probes(served):
    process, base = served
    assert process.poll() is None, "smart-app serve exited"
    deadline = time.monotonic() + 15
    while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the first worker may answer before the second has booted
    assert len(_children(process.pid)) == 2  # the gunicorn arbiter and its two workers
    live = requests.get(base + "/healthz", timeout=5)
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = ready_answer(base)
    assert ready.status_code == 200, ready.text
    assert ready.json()["store"] == "ok" and set(ready.json()["servers"].values()) == {"ok"}
    assert ready.headers["Cache-Control"] == "no-store"


@pytest.mark.redis
def test_serve_stops_cleanly_on_sigterm(served):
    process, _ = served
    workers = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text() for pid in workers)


def test_serve_refuses_shared_redis_without_a_shared_key_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("SESSION_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delenv("SMART_APP_STORE_KEY", raising=False)
    monkeypatch.delenv("SMART_APP_SECRET_KEY", raising=False)
    assert main(["serve", "--port", str(_free_port())]) == 2
    assert "SMART_APP_STORE_KEY" in capsys.readouterr().err


def _app(tmp_path, registration_doc, client_key_paths, **config):
    """An app with the production probes, as `production_app` builds it, from a test registration."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "inst"), "REGISTRATION": registration_doc,
                      "SECRET_KEY": "s", **client_key_paths, **config})
    health.init_app(app)
    return app


@pytest.mark.parametrize(("hops", "forwarded_proto", "secure"), [
    (0, "https", False),        # no proxy trusted: the header is ignored
    (1, "https", True),
    (1, "https,http", False),   # one hop: only the nearest proxy's value counts
    (2, "https,http", True),
])
def test_forwarded_proto_is_honoured_for_exactly_the_configured_hops(tmp_path, fake_ehr, client_key_paths, hops, forwarded_proto, secure):
    app = _app(tmp_path, registration(fake_ehr.base), client_key_paths)
    init_proxy(app, hops)
    response = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": forwarded_proto})
    assert ("Strict-Transport-Security" in response.headers) is secure


def test_readyz_is_ready_when_store_and_discovery_answer(tmp_path, fake_ehr, client_key_paths):
    app = _app(tmp_path, registration(fake_ehr.base), client_key_paths)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "store": "ok", "servers": {fake_ehr.base: "ok"}}


def test_readyz_uses_cached_discovery_without_asking_the_server_again(tmp_path, fake_ehr, client_key_paths):
    app = _app(tmp_path, registration(fake_ehr.base), client_key_paths)
    client = app.test_client()
    client.get("/readyz")
    asked = len(fake_ehr.requests())
    assert client.get("/readyz").status_code == 200
    assert len(fake_ehr.requests()) == asked


def test_readyz_says_not_ready_quickly_when_discovery_hangs(tmp_path, threaded_fake_ehr, client_key_paths):
    """The probe answers 503 while discovery is still hanging: proved by order, not by a clock."""
    answered: list[str] = []
    release = threading.Event()

    def slow(request: Request) -> Response:
        """A discovery endpoint that hangs until the test has the probe's answer."""
        release.wait(PATIENCE)
        answered.append(request.path)
        return Response("{}", status=404)

    threaded_fake_ehr.server.clear_all_handlers()
    threaded_fake_ehr.respond_with("/fhir/.well-known/smart-configuration", slow)
    threaded_fake_ehr.respond_with("/fhir/metadata", slow)
    app = _app(tmp_path, registration(threaded_fake_ehr.base), client_key_paths)
    try:
        response = app.test_client().get("/readyz")
        assert answered == []  # the probe did not wait for the hanging server
    finally:
        release.set()
    assert response.status_code == 503
    assert response.get_json()["servers"] == {threaded_fake_ehr.base: "timeout"}


def test_readyz_is_not_ready_when_discovery_fails(tmp_path, fake_ehr, client_key_paths):
    fake_ehr.server.clear_all_handlers()  # every request now answers 500
    app = _app(tmp_path, registration(fake_ehr.base), client_key_paths)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["servers"] == {fake_ehr.base: "unreachable"}


@pytest.mark.redis
def test_readyz_is_not_ready_when_redis_is_down(tmp_path, fake_ehr, client_key_paths):
    app = _app(tmp_path, registration(fake_ehr.base), client_key_paths, SESSION_REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["store"] == "unreachable"
