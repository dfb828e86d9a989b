"""Faults while reviewing and sending: no duplicates and nothing lost, checked in the sandbox's store."""
from __future__ import annotations

import threading
from typing import Any

from flask.testing import FlaskClient

from tests.fixtures.e2e import CLINICIAN, E2E, OTHER_PATIENT, PATIENT
from tests.medication_flow.helpers import (
    Reviewer,
    children,
    path_of,
    stored_adherence,
    stored_provenance,
    stored_reviews,
)

SPECIAL = {"lisinopril": {"status": "not-taking", "why": "cost"}, "aspirin": {"status": "unsure"}}


def assert_one_set(e2e: E2E, patient: str, medicines: int) -> dict[str, Any]:
    """Exactly one review, one Observation per medicine and one Provenance for the patient; returns the QR."""
    reviews = stored_reviews(e2e, patient)
    assert len(reviews) == 1, [r["id"] for r in reviews]
    assert reviews[0]["status"] == "completed"
    observations = stored_adherence(e2e, patient)
    assert len(observations) == medicines
    targets = {f"QuestionnaireResponse/{reviews[0]['id']}", *(f"Observation/{o['id']}" for o in observations)}
    assert len(stored_provenance(e2e, targets)) == 1
    return reviews[0]


def status_of(qr: dict[str, Any], name_fragment: str) -> str:
    """The status code answered for the medicine whose name contains the fragment."""
    for group in qr["item"]:
        parts = children(group)
        if group["linkId"] == "medication" and name_fragment in parts["medication.name"][0]["valueString"]:
            return parts["medication.status"][0]["valueCoding"]["code"]
    raise AssertionError(f"{name_fragment} not in the review")


def patient_reviewer(e2e: E2E) -> Reviewer:
    """A standalone patient launch of the acceptance patient, in the e2e browser."""
    return Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)


def test_sending_twice_stores_one_set_and_shows_the_same_receipt(e2e: E2E) -> None:
    """A browser re-POST of "Send" after success goes to the same receipt and writes nothing new."""
    reviewer = patient_reviewer(e2e)
    submission_id, first = reviewer.review_and_send(SPECIAL)
    again = reviewer.send(submission_id)
    assert again.status_code == 303 and path_of(again) == path_of(first)
    qr = assert_one_set(e2e, PATIENT, 9)
    assert status_of(qr, "lisinopril") == "not-taking" and status_of(qr, "aspirin") == "unsure"


def test_two_sends_at_the_same_moment_store_one_set(e2e: E2E) -> None:
    """A double click: two concurrent POSTs of the same submission write once."""
    reviewer = patient_reviewer(e2e)
    submission_id = reviewer.prepare(SPECIAL)
    second = _same_browser(e2e, e2e.client)
    e2e.sandbox.faults.add_latency(300, 2, writes_only=True)  # keep the first send in flight
    results: list[int] = []
    threads = [threading.Thread(target=lambda c=c: results.append(Reviewer(e2e, reviewer.handle, c).send(submission_id).status_code))
               for c in (e2e.client, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # pytest-timeout is the hang guard: a send can take long on a loaded machine
    assert results == [303, 303]
    assert_one_set(e2e, PATIENT, 9)


def _same_browser(e2e: E2E, client: FlaskClient) -> FlaskClient:
    """A second test client carrying the first one's session cookie (a second tab of the same browser)."""
    other = e2e.new_browser()
    cookie = client.get_cookie(e2e.app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    other.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return other


def test_response_lost_after_the_transaction_completes_the_draft_is_recovered(e2e: E2E) -> None:
    """The transaction (which also completes the in-progress draft in place) commits, then its answer is lost."""
    reviewer = patient_reviewer(e2e)
    submission_id = reviewer.prepare(SPECIAL)
    e2e.sandbox.set_fault("drop_after_commit")
    sent = reviewer.send(submission_id)
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)
    assert not e2e.sandbox.faults.pending()
    assert_one_set(e2e, PATIENT, 9)


def test_response_lost_twice_after_the_transaction_commits_is_resent_without_duplicates(e2e: E2E) -> None:
    """The transaction commits, then the answers to it and to its replay are lost: the conditional resend matches."""
    reviewer = patient_reviewer(e2e)
    submission_id = reviewer.prepare(SPECIAL)
    e2e.sandbox.faults.drop_after_commit(2)  # the transaction, then the replay that meets our own new version
    sent = reviewer.send(submission_id)
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)
    assert not e2e.sandbox.faults.pending()
    assert_one_set(e2e, PATIENT, 9)


def test_503_with_a_short_retry_after_is_waited_out(e2e: E2E) -> None:
    """503 + Retry-After: 1 is honoured, then the same bundle goes through once."""
    reviewer = patient_reviewer(e2e)
    submission_id = reviewer.prepare(SPECIAL)
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=1)
    sent = reviewer.send(submission_id)
    assert not e2e.sandbox.faults.pending()
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)
    assert_one_set(e2e, PATIENT, 9)


def test_503_with_a_long_retry_after_keeps_the_review_pending_until_a_retry_sends_it(e2e: E2E) -> None:
    """A wait longer than a page may block: the review stays stored and pending, and a retry sends it once."""
    reviewer = patient_reviewer(e2e)
    submission_id = reviewer.prepare(SPECIAL)
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120)
    sent = reviewer.send(submission_id)
    pending = e2e.client.get(path_of(sent)).get_data(as_text=True)
    assert "Not sent yet" in pending
    assert stored_reviews(e2e, PATIENT) == [] or all(r["status"] == "in-progress" for r in stored_reviews(e2e, PATIENT))
    assert stored_adherence(e2e, PATIENT) == []
    token = reviewer.client.get(f"/l/{reviewer.handle}/").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    retried = e2e.client.post(f"/l/{reviewer.handle}/submissions/{submission_id}/retry", data={"csrf_token": token})
    assert retried.status_code == 303
    assert "Sent to your care team" in e2e.client.get(path_of(retried)).get_data(as_text=True)
    qr = assert_one_set(e2e, PATIENT, 9)
    assert status_of(qr, "lisinopril") == "not-taking"


def test_token_expiry_mid_review_is_refreshed_and_nothing_is_lost(e2e: E2E) -> None:
    """The access token expires between answering and sending: one refresh, then the review is sent."""
    reviewer = patient_reviewer(e2e)
    _, rows = reviewer.open()
    assert reviewer.post(reviewer.answers(rows, SPECIAL)).status_code == 303
    assert e2e.sandbox.set_fault("expire_token")["affected"] >= 1
    _, submission_id = reviewer.check()
    sent = reviewer.send(submission_id)
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)
    qr = assert_one_set(e2e, PATIENT, 9)
    assert status_of(qr, "aspirin") == "unsure"


def test_launch_that_cannot_refresh_keeps_the_draft_for_the_relaunch(e2e: E2E) -> None:
    """Access ends mid-review; after signing in again the answers are still there and are sent once."""
    reviewer = patient_reviewer(e2e)
    _, rows = reviewer.open()
    assert reviewer.post(reviewer.answers(rows, SPECIAL)).status_code == 303
    e2e.sandbox.set_fault("expire_token")
    e2e.sandbox.set_fault("revoke_refresh")
    ended = e2e.client.get(f"/l/{reviewer.handle}/medications/check")
    assert ended.status_code == 401
    again = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    body, rows = again.open()
    lisinopril = next(key for name, key in rows.items() if "lisinopril" in name.casefold())
    assert f'id="med-{lisinopril}-status-not-taking" name="med.{lisinopril}.status" value="not-taking" checked' in body
    _, submission_id = again.check()
    again.send(submission_id)
    qr = assert_one_set(e2e, PATIENT, 9)
    assert status_of(qr, "lisinopril") == "not-taking"


def test_two_tabs_with_two_patients_keep_their_reviews_apart(e2e: E2E) -> None:
    """A clinician with two patients open in two tabs: each review goes to its own patient, once."""
    ana = Reviewer(e2e, e2e.launcher.ehr(patient=PATIENT), e2e.client)
    ben = Reviewer(e2e, e2e.launcher.ehr(patient=OTHER_PATIENT), e2e.client)
    _, ana_rows = ana.open()
    _, ben_rows = ben.open()
    assert ana.post(ana.answers(ana_rows, SPECIAL)).status_code == 303
    assert ben.post(ben.answers(ben_rows, {"sertraline": {"status": "different", "how": "Every other day"}})).status_code == 303
    _, ben_id = ben.check()
    _, ana_id = ana.check()
    assert ana_id != ben_id
    ben.send(ben_id)
    ana.send(ana_id)

    ana_qr = assert_one_set(e2e, PATIENT, 9)
    ben_qr = assert_one_set(e2e, OTHER_PATIENT, 4)
    assert status_of(ben_qr, "sertraline") == "different" and status_of(ana_qr, "lisinopril") == "not-taking"
    for qr, patient in ((ana_qr, PATIENT), (ben_qr, OTHER_PATIENT)):
        assert qr["author"] == {"reference": CLINICIAN}
        assert qr["source"] == {"reference": f"Patient/{patient}"}
        slug = patient.removeprefix("pat-")
        focus = {f["reference"] for o in stored_adherence(e2e, patient) for f in o["focus"]}
        assert focus and all(ref.startswith((f"MedicationRequest/mr-{slug}-", f"MedicationStatement/ms-{slug}-"))
                             for ref in focus)
