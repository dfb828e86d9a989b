"""What the granted scopes allow, said up front; per-field validation; escaping; who the review is from."""
from __future__ import annotations

import re

from tests.fixtures.e2e import CAREGIVER, CHILD, E2E, PATIENT
from tests.medication_flow.helpers import (
    Reviewer,
    key_for,
    path_of,
    stored_adherence,
    stored_provenance,
    stored_reviews,
)

QR_SCOPE = "patient/QuestionnaireResponse.crus"
OBS_WRITE = "patient/Observation.c"


def test_home_page_offers_the_review_to_the_patient(e2e: E2E) -> None:
    """The patient's home page links "Review your medicines" to the review form."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    home = e2e.page(handle).get_data(as_text=True)
    assert re.search(rf'<a class="task-title" href="/l/{handle}/medications/">Review your medicines</a>', home)


def test_without_questionnaire_response_write_the_review_is_read_only_from_the_start(e2e: E2E) -> None:
    """No write scope: the page says so before anything is typed, inputs are disabled and a POST is refused."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=[QR_SCOPE])
    reviewer = Reviewer(e2e, handle, e2e.client)
    body, rows = reviewer.open()
    assert len(rows) == 9
    assert "was not allowed to save your answers" in body
    assert 'value="taking" disabled' in body and 'value="submit"' not in body
    refused = reviewer.post(reviewer.answers(rows))
    assert refused.status_code == 403
    assert stored_reviews(e2e, PATIENT) == []


def test_without_observation_write_only_the_response_and_provenance_are_sent(e2e: E2E) -> None:
    """The check page says Observations are left out; the sandbox then holds the QR and Provenance only."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=[OBS_WRITE])
    reviewer = Reviewer(e2e, handle, e2e.client)
    _, rows = reviewer.open()
    assert reviewer.post(reviewer.answers(rows, {"lisinopril": {"status": "unsure"}})).status_code == 303
    check, submission_id = reviewer.check()
    # A patient is told some parts are left out, never which resource type (issue 14).
    assert "may not save some parts to your health record" in check and "Observation" not in check
    assert "records of whether you take each medicine" not in check
    reviewer.send(submission_id)
    reviews = stored_reviews(e2e, PATIENT)
    assert len(reviews) == 1 and stored_adherence(e2e, PATIENT) == []
    provenance = stored_provenance(e2e, {f"QuestionnaireResponse/{reviews[0]['id']}"})
    assert len(provenance) == 1
    assert [t["reference"] for t in provenance[0]["target"]] == [f"QuestionnaireResponse/{reviews[0]['id']}"]


def test_without_medication_read_the_task_is_greyed_out_and_the_page_explains(e2e: E2E) -> None:
    """No MedicationRequest read: the home task says why, and the review page makes no search."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=["patient/MedicationRequest.rs"])
    home = e2e.page(handle).get_data(as_text=True)
    assert "This app was not given access to the medicine list." in home
    page = e2e.page(handle, "medications/")
    assert page.status_code == 403
    assert "not given access to the medicine list" in page.get_data(as_text=True)


def test_without_statement_read_the_prescriptions_are_still_reviewed(e2e: E2E) -> None:
    """MedicationStatements not granted: the requests are shown, with a note that earlier reports are missing."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=["patient/MedicationStatement.rs"])
    body, rows = Reviewer(e2e, handle, e2e.client).open()
    assert len(rows) == 9
    assert "Medicines you told us about before could not be shown" in body
    assert "Past medicines" not in body


def test_missing_and_bad_answers_get_a_message_per_field_and_a_summary_and_are_kept(e2e: E2E) -> None:
    """Unanswered, not-taking without a reason, a future date and a nameless added medicine: four messages."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    reviewer = Reviewer(e2e, handle, e2e.client)
    _, rows = reviewer.open()
    form = reviewer.answers(rows, {"lisinopril": {"status": "not-taking", "since": "2999-01-01"}},
                            [{"dose": "200 mg"}])
    aspirin = key_for(rows, "aspirin")
    del form[f"med.{aspirin}.status"]
    response = reviewer.post(form)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    lisinopril = key_for(rows, "lisinopril")
    assert "Please check 4 answers" in body
    for anchor in (f"med-{aspirin}-status", f"med-{lisinopril}-why", f"med-{lisinopril}-since", "add-0-name"):
        assert f'href="#{anchor}"' in body
    assert f'<p class="error" id="med-{aspirin}-status-error">Tell us whether you are taking Aspirin 81 mg tablet.</p>' in body
    assert f'<p class="error" id="med-{lisinopril}-since-error">The date you stopped must be today or earlier.</p>' in body
    assert 'value="200 mg"' in body  # what was typed is kept, even when wrong
    # The invalid answers are kept as a draft: the check page sends the user back instead of sending.
    back = e2e.client.get(f"/l/{handle}/medications/check")
    assert back.status_code == 303 and path_of(back) == f"/l/{handle}/medications/"
    assert 'value="2999-01-01"' in e2e.client.get(path_of(back)).get_data(as_text=True)


def test_hostile_medicine_text_is_shown_as_text(e2e: E2E) -> None:
    """FHIR text is escaped on the review page and in the clinician view, never run."""
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    e2e.sandbox.store.create({"resourceType": "MedicationRequest", "id": "mr-hostile", "status": "active",
                              "intent": "order", "subject": {"reference": f"Patient/{PATIENT}"},
                              "medicationCodeableConcept": {"text": hostile},
                              "dosageInstruction": [{"text": hostile}]})
    handle = e2e.launcher.ehr(patient=PATIENT)
    for path in ("medications/", "medications/clinician"):
        body = e2e.page(handle, path).get_data(as_text=True)
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
        assert "<script>alert" not in body and "<img src=x" not in body


def test_a_clinician_reviewing_with_the_patient_is_told_so_and_the_not_sure_answer_is_flagged(e2e: E2E) -> None:
    """EHR launch: the form says whose answers these are; "not sure" shows as a difference afterwards."""
    handle = e2e.launcher.ehr(patient=PATIENT)
    reviewer = Reviewer(e2e, handle, e2e.client)
    body, _ = reviewer.open()
    assert "You are recording what the patient tells you" in body
    reviewer.review_and_send({"atorvastatin": {"status": "unsure"}})
    page = e2e.page(handle, "medications/clinician").get_data(as_text=True)
    assert re.findall(r'<mark class="diff-label">([^<]+)</mark>\s*<strong class="med-name">([^<]+)</strong>', page) == [
        ("Not sure", "atorvastatin 20 MG Oral Tablet")]


def test_a_parent_reviews_for_their_child_as_author_and_source(e2e: E2E) -> None:
    """Caregiver standalone launch: the child's review is authored and sourced by the RelatedPerson."""
    handle = e2e.launcher.standalone(login=CAREGIVER)
    reviewer = Reviewer(e2e, handle, e2e.client)
    _, rows = reviewer.open()
    assert len(rows) == 3
    reviewer.review_and_send()
    reviews = stored_reviews(e2e, CHILD)
    assert len(reviews) == 1
    assert reviews[0]["author"] == {"reference": CAREGIVER} and reviews[0]["source"] == {"reference": CAREGIVER}
    assert {o["performer"][0]["reference"] for o in stored_adherence(e2e, CHILD)} == {CAREGIVER}


def test_a_clinician_who_may_not_read_reviews_is_not_told_that_none_was_sent(e2e: E2E) -> None:
    """Without QuestionnaireResponse read the app cannot know, and says that instead of "no review yet"."""
    Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client).review_and_send()
    clinician = e2e.new_browser()
    handle = e2e.launcher.ehr(patient=PATIENT, client=clinician, exclude_scopes=[QR_SCOPE])
    home = clinician.get(f"/l/{handle}/").get_data(as_text=True)
    page = clinician.get(f"/l/{handle}/medications/clinician").get_data(as_text=True)
    for body in (home, page):
        assert "has not sent a medication review" not in body
    assert "This app may not read patient-reported reviews" in page
    assert page.count('class="current-row"') == 9
