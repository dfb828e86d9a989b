"""Medication review write-path safety: answers survive a dead launch (review M1)."""
from __future__ import annotations

from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import Reviewer, csrf_of, key_for


def _status_checked(body: str, rows: dict[str, str], fragment: str, status: str) -> bool:
    """True when the review form shows `status` chosen for the medicine named by `fragment`."""
    return f'name="med.{key_for(rows, fragment)}.status" value="{status}" checked' in body


def test_answers_posted_after_the_launch_died_are_restored_after_relaunch(e2e: E2E) -> None:
    """M1: the token expires and cannot be refreshed; the POSTed answers come back on the next launch."""
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    _, rows = reviewer.open()
    form = reviewer.answers(rows, {"lisinopril": {"status": "not-taking", "why": "cost"}})
    token = csrf_of(e2e.client.get(reviewer.base).get_data(as_text=True))
    e2e.sandbox.set_fault("expire_token")
    e2e.sandbox.set_fault("revoke_refresh")
    posted = e2e.client.post(reviewer.base, data={**form, "action": "submit", "csrf_token": token})
    assert posted.status_code == 401
    again = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    body, rows = again.open()
    assert _status_checked(body, rows, "lisinopril", "not-taking")
    assert _status_checked(body, rows, "aspirin", "taking")
