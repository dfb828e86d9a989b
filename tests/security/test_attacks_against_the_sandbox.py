"""The attacks the review could not yet prove, run against the real sandbox: each meets a clear refusal and writes nothing."""
from __future__ import annotations

from smart_app.ehr.client import TransportBudget
from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from tests.fixtures.e2e import CAREGIVER, CHILD, OTHER_PATIENT, PATIENT
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers


def _written(sandbox) -> dict[str, int]:
    """How many resources of each written type the sandbox holds."""
    return {t: len(sandbox.resources(t)) for t in ("QuestionnaireResponse", "Observation", "Provenance")}


def test_tampered_submission_ids_in_every_post_reach_nothing_of_another_patient(e2e):
    ben = Browser(e2e.new_browser(), "")
    ben.handle = e2e.launcher.ehr(patient=OTHER_PATIENT, client=ben.client)
    bens_submission = ben.fill_and_send("phq-9", phq9_answers([1] * 9))
    ana = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    token = csrf(ana.get("").get_data(as_text=True))
    before = _written(e2e.sandbox)

    for path in (f"submissions/{bens_submission}/retry", f"submissions/{bens_submission}/deliver"):
        assert ana.client.post(ana.url(path), data={"csrf_token": token}).status_code == 404, path
    assert ana.get(f"submissions/{bens_submission}").status_code == 404
    for path in ("questionnaires/phq-9/send", "medications/send"):
        response = ana.client.post(ana.url(path), data={"csrf_token": token, "submission_id": bens_submission})
        assert response.status_code == 303 and bens_submission not in response.headers["Location"], path

    assert _written(e2e.sandbox) == before


def test_a_patient_id_in_a_post_does_not_change_whose_record_is_written(e2e):
    ana = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    fields = {**phq9_answers([0] * 9), "patient": f"Patient/{OTHER_PATIENT}", "subject": f"Patient/{OTHER_PATIENT}"}
    ana.fill_and_send("phq-9", fields)
    subjects = {r["subject"]["reference"] for r in e2e.sandbox.resources("QuestionnaireResponse")}
    assert subjects == {f"Patient/{PATIENT}"}


def test_a_caregiver_reaches_only_the_child_linked_to_them(e2e):
    handle = e2e.launcher.standalone(login=CAREGIVER)
    record = read_launch(e2e.app.extensions[EXTENSION].store, handle)
    assert record["context"]["patient_id"] == CHILD
    assert "as a caregiver" in e2e.page(handle).get_data(as_text=True)


def test_an_over_deep_questionnaire_gets_a_limit_page_and_writes_nothing(e2e):
    item: dict = {"linkId": "leaf", "type": "string", "text": "?"}
    for depth in range(51):
        item = {"linkId": f"g{depth}", "type": "group", "text": "Group", "item": [item]}
    e2e.sandbox.store.create({"resourceType": "Questionnaire", "id": "deep", "status": "active",
                              "url": "http://example.org/q/deep", "title": "Deep", "item": [item]})
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/deep"))
    before = _written(e2e.sandbox)
    response = browser.get("questionnaires/deep")
    assert response.status_code == 400 and "levels deep" in response.get_data(as_text=True)
    token = csrf(browser.get("").get_data(as_text=True))
    posted = browser.client.post(browser.url("questionnaires/deep"), data={"q.leaf.r": "x", "csrf_token": token})
    assert posted.status_code == 400
    assert _written(e2e.sandbox) == before


def test_a_questionnaire_past_the_response_size_cap_is_never_rendered(e2e):
    e2e.sandbox.store.create({"resourceType": "Questionnaire", "id": "bulky", "status": "active",
                              "url": "http://example.org/q/bulky", "title": "Bulky",
                              "item": [{"linkId": f"i{n}", "type": "string", "text": "x" * 500} for n in range(400)]})
    handle = e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/bulky")
    e2e.app.extensions[EXTENSION].fhir_budget = TransportBudget(max_response_bytes=100 * 1024)
    # The catalog's read is refused at the cap, so the form is not offered (a read failure hides it, as any other).
    assert "Bulky" not in e2e.page(handle, "questionnaires/").get_data(as_text=True)
    assert e2e.page(handle, "questionnaires/bulky").status_code == 404


def test_a_huge_bundle_from_the_sandbox_is_refused_with_a_clear_page(e2e):
    for n in range(600):
        e2e.sandbox.store.create({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                                  "subject": {"reference": f"Patient/{PATIENT}"},
                                  "medicationCodeableConcept": {"text": f"Medicine {n} " + "x" * 300}})
    handle = e2e.launcher.ehr(patient=PATIENT)
    e2e.app.extensions[EXTENSION].fhir_budget = TransportBudget(max_response_bytes=64 * 1024)
    before = _written(e2e.sandbox)
    response = e2e.page(handle, "medications/")
    html = response.get_data(as_text=True)
    assert "Medicine 1 " not in html
    assert response.status_code in (200, 502) and ("could not" in html.lower() or "too much" in html.lower())
    assert _written(e2e.sandbox) == before
