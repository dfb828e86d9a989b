"""`smart-app serve --dev` and `smart-app sandbox` keep working, with the probes and the audit log in place."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.fixtures.e2e import e2e_registration
from tests.production.test_serving import ROOT, _free_port, ready_answer


def _run_until_ready(argv: list[str], env: dict[str, str], url: str, output: Path) -> subprocess.Popen:
    """Start a smart-app command and wait until `url` answers."""
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "smart_app.cli", *argv], env={**os.environ, **env}, cwd=ROOT,
                                   stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(url, timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    _stop(process)
    raise AssertionError(f"{argv[0]} did not start: {output.read_text()}")


def _stop(process: subprocess.Popen) -> int:
    """SIGTERM, then wait; returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def test_serve_dev_uses_flasks_server_with_the_probes(tmp_path, fake_ehr, database_env):
    port = _free_port()
    config = tmp_path / "launch.json"
    config.write_text(json.dumps(e2e_registration(fake_ehr.base, app_origin=f"http://127.0.0.1:{port}")))
    output = tmp_path / "out.txt"
    process = _run_until_ready(["serve", "--dev", "--host", "127.0.0.1", "--port", str(port)],
                               {"SMART_APP_CONFIG": str(config), "SMART_APP_SECRET_KEY": secrets.token_urlsafe(48),
                                "SMART_APP_AUDIT_LOG": str(tmp_path / "audit.log"), **database_env},
                               f"http://127.0.0.1:{port}/healthz", output)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        assert ready_answer(f"http://127.0.0.1:{port}").status_code == 200
    finally:
        _stop(process)
    assert "development server" in output.read_text()


def test_sandbox_command_serves_both_and_writes_the_audit_log(tmp_path, database_env):
    app_port, sandbox_port = _free_port(), _free_port()
    config = tmp_path / "launch.json"
    config.write_text(json.dumps(e2e_registration(f"http://127.0.0.1:{sandbox_port}/fhir")))
    audit_log = tmp_path / "audit.log"
    output = tmp_path / "out.txt"
    process = _run_until_ready(["sandbox", "--host", "127.0.0.1", "--port", str(app_port), "--sandbox-port", str(sandbox_port),
                                "--config", str(config), "--audit-log", str(audit_log), "--sandbox-db", str(tmp_path / "ehr.sqlite3")],
                               {"SMART_APP_SECRET_KEY": "sandbox-test", "SMART_APP_INSTANCE": str(tmp_path / "instance"),
                                **database_env},
                               f"http://127.0.0.1:{app_port}/healthz", output)
    try:
        assert ready_answer(f"http://127.0.0.1:{app_port}").json()["status"] == "ready"
        start = requests.get(f"http://127.0.0.1:{app_port}/launch", params={"iss": f"http://127.0.0.1:{sandbox_port}/fhir"},
                             allow_redirects=False, timeout=10)
        assert start.status_code == 302 and start.headers["Location"].startswith(f"http://127.0.0.1:{sandbox_port}/")
    finally:
        assert _stop(process) == 0
    assert "stopped" in output.read_text() and (tmp_path / "ehr.sqlite3").exists()
    events = [json.loads(line)["event"] for line in audit_log.read_text().splitlines()]
    assert events[:2] == ["launch.received", "authorize.redirect"]
