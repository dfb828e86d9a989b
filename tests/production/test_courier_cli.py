"""`smart-app courier --once`: another process, sharing the database, works the rows this app wrote."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from smart_app.delivery import courier
from smart_app import create_app
from smart_app.launch.runtime import runtime
from smart_app.launch.session import end_launch
from tests.fixtures.e2e import E2E, PATIENT, e2e_registration
from tests.production.test_serving import ROOT
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers, stored

SECRET = "courier-cli-secret"


@pytest.fixture
def e2e_app(e2e_sandbox: Any, tmp_path: Path, client_key_paths: dict[str, str], redis_url: str) -> Flask:
    """The e2e app on a real Redis store, keyed by a secret the command line process shares."""
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "app-instance"), "SESSION_REDIS_URL": redis_url,
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}", "REGISTRATION": e2e_registration(e2e_sandbox.fhir_base), "SECRET_KEY": SECRET,
                       **client_key_paths})


def _courier_once(tmp_path: Path, e2e: E2E) -> subprocess.CompletedProcess:
    """Run `smart-app courier --once` as a separate process against the same store and registration."""
    config = tmp_path / "launch.json"
    config.write_text(json.dumps(e2e_registration(e2e.sandbox.fhir_base)))
    env = {**os.environ, "SMART_APP_CONFIG": str(config), "SMART_APP_SECRET_KEY": SECRET,
           "SESSION_REDIS_URL": e2e.app.config["SESSION_REDIS_URL"], "SMART_APP_DATABASE_URL": e2e.app.config["DATABASE_URL"],
           "SMART_APP_AUDIT_LOG": str(tmp_path / "audit.log")}
    return subprocess.run([sys.executable, "-m", "smart_app.cli", "courier", "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_courier_once_in_another_process_drops_an_ended_launch_and_sends_nothing(e2e: E2E, tmp_path: Path) -> None:
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    assert browser.post_form("phq-9", phq9_answers([2] * 9)).status_code == 303
    html, sid = browser.review("phq-9")
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    browser.client.post(browser.url("questionnaires/phq-9/send"), data={"submission_id": sid, "csrf_token": csrf(html)})
    with e2e.app.app_context():
        assert [e["submission_id"] for e in courier.entries()] == [sid]  # written by this process, read by the other
        end_launch(runtime(), browser.handle, reason="logout")
        _make_due(sid)  # its retry time has come (no waiting in tests)

    done = _courier_once(tmp_path, e2e)
    assert done.returncode == 0, done.stderr
    assert "0 pending submission(s) sent" in done.stdout
    with e2e.app.app_context():
        assert courier.entries() == []
    dropped = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [(e["submission_id"], e["reason"]) for e in dropped if e["event"] == "courier.dropped"] == [(sid, "launch_gone")]
    assert stored(e2e.sandbox, sid)["Observation"] == []


def _make_due(submission_id: str) -> None:
    """Move a pending row's next attempt to now, as the passing of its backoff would."""
    from sqlalchemy import update

    from smart_app.database import submissions
    from smart_app.delivery.rows import rows

    with rows().engine.begin() as conn:
        conn.execute(update(submissions).where(submissions.c.submission_id == submission_id)
                     .values(next_attempt_at=time.time()))
