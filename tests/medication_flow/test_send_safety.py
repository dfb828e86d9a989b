"""Medication review write-path safety: answers survive a dead launch, a refused send leaves no stray
completed review, and changes made while a send is pending are never sent as the old ones (review M1, M3, H1)."""
from __future__ import annotations

from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode
from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import Reviewer, csrf_of, key_for, path_of, stored_reviews


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


def test_a_refused_send_leaves_no_completed_review_and_the_resend_completes_the_same_one(e2e: E2E, monkeypatch) -> None:
    """M3: the EHR refuses the transaction (422): its draft stays in progress; the corrected send completes it."""
    real = FhirClient.transaction
    calls = {"n": 0}

    def refuse_first(self, bundle):
        """Refuse the first transaction as the EHR's validation would (nothing committed)."""
        calls["n"] += 1
        if calls["n"] == 1:
            raise FhirError(FhirErrorCode.INVALID, status=422, method="POST", resource_type="Bundle")
        return real(self, bundle)

    monkeypatch.setattr(FhirClient, "transaction", refuse_first)
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    first = reviewer.prepare({"aspirin": {"status": "unsure"}})
    refused = e2e.client.get(path_of(reviewer.send(first))).get_data(as_text=True)
    assert "Not sent." in refused and f'href="{reviewer.base}">Check my answers' in refused
    assert [r["status"] for r in stored_reviews(e2e, PATIENT)] == ["in-progress"]
    draft_id = stored_reviews(e2e, PATIENT)[0]["id"]

    second = reviewer.prepare({"aspirin": {"status": "unsure"}})
    assert second != first  # a definite refusal frees the answers for a new submission
    sent = reviewer.send(second)
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)
    reviews = stored_reviews(e2e, PATIENT)
    assert [(r["id"], r["status"]) for r in reviews] == [(draft_id, "completed")]


def test_changes_made_while_a_send_is_pending_are_kept_and_not_sent_as_the_old_review(e2e: E2E) -> None:
    """H1: the check page shows the pending review and resends it; the changes come back afterwards."""
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    sid = reviewer.prepare({"aspirin": {"status": "unsure"}})
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    pending = reviewer.send(sid)
    assert "Not sent yet" in e2e.client.get(path_of(pending)).get_data(as_text=True)

    _, rows = reviewer.open()
    changed = reviewer.post(reviewer.answers(rows, {"aspirin": {"status": "not-taking", "why": "cost"}}))
    assert changed.status_code == 303 and path_of(changed).endswith("/medications/check")
    body, check_sid = reviewer.check()
    assert check_sid == sid and "still being sent" in body and "newer changes are kept" in body
    sent = reviewer.send(sid)
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)
    [review] = [r for r in stored_reviews(e2e, PATIENT) if r["status"] == "completed"]
    assert "not-taking" not in str(review) and "unsure" in str(review)

    body, rows = reviewer.open()
    assert _status_checked(body, rows, "aspirin", "not-taking")  # the changes were kept for the next send
