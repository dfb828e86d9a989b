"""`smart-app courier --loop`: the production worker process runs until SIGTERM and stops cleanly."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.fixtures.e2e import e2e_registration
from tests.production.test_serving import ROOT


def test_courier_loop_runs_rounds_until_sigterm_and_purges_once_at_start(tmp_path: Path, app_database_url: str) -> None:
    config = tmp_path / "launch.json"
    config.write_text(json.dumps(e2e_registration("http://127.0.0.1:9/fhir")))
    audit_log = tmp_path / "audit.log"
    env = {**os.environ, "SMART_APP_CONFIG": str(config), "SMART_APP_SECRET_KEY": "loop-secret",
           "SMART_APP_DATABASE_URL": app_database_url, "SMART_APP_AUDIT_LOG": str(audit_log)}
    process = subprocess.Popen([sys.executable, "-m", "smart_app.cli", "courier", "--loop", "--interval", "0.05"],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "delivering every 0.05 s" in process.stdout.readline()
        # The first round purges (a fresh worker); wait for its audit line, then stop the worker.
        while not (audit_log.exists() and "retention.purged" in audit_log.read_text()):
            assert process.poll() is None, process.stderr.read()
            threading.Event().wait(0.05)  # poll the file; the loop is alive
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped" in out
