"""PHQ-9 filled and sent from an EHR launch and from a standalone launch: exactly the right resources."""
from __future__ import annotations

from tests.fixtures.e2e import CLINICIAN, PATIENT
from tests.questionnaire_flow.flow import PHQ9_URL, Browser, codes, phq9_answers, stored

POINTS = [1, 2, 0, 3, 1, 0, 2, 1, 0]  # total 10: moderate depression


def test_phq9_from_an_ehr_launch_stores_one_response_its_total_score_and_one_provenance(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    sid = browser.fill_and_send("phq-9", phq9_answers(POINTS))

    found = stored(e2e.sandbox, sid)
    [qr] = found["QuestionnaireResponse"]
    assert qr["status"] == "completed"
    assert qr["questionnaire"] == PHQ9_URL + "|1.0.0"
    assert qr["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert qr["encounter"] == {"reference": "Encounter/enc-ana-visit"}
    assert qr["author"] == {"reference": CLINICIAN}
    assert qr["source"] == {"reference": f"Patient/{PATIENT}"}  # a clinician answered on the patient's behalf
    [total] = found["Observation"]
    assert codes(total) == {"44261-6"}
    assert total["valueQuantity"]["value"] == 10
    assert total["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr['id']}"}]
    assert total["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert total["interpretation"] == [{"text": "Moderate depression"}]
    [provenance] = found["Provenance"]
    assert {t["reference"] for t in provenance["target"]} == {f"QuestionnaireResponse/{qr['id']}",
                                                             f"Observation/{total['id']}"}
    # The draft mirrored to the EHR was completed in place: no second, in-progress response is left.
    phq9 = [r for r in e2e.sandbox.resources("QuestionnaireResponse")
            if r["subject"] == qr["subject"] and r.get("questionnaire") == qr["questionnaire"]]
    assert [r["id"] for r in phq9] == [qr["id"]]


def test_phq9_receipt_lists_what_was_sent(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    sid = browser.fill_and_send("phq-9", phq9_answers(POINTS))
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    qr = stored(e2e.sandbox, sid)["QuestionnaireResponse"][0]
    assert "Saved to the chart" in page
    assert f"QuestionnaireResponse <code>{qr['id']}</code>" in page


def test_phq9_from_a_standalone_patient_launch_has_the_patient_as_author(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    sid = browser.fill_and_send("phq-9", phq9_answers(POINTS))
    found = stored(e2e.sandbox, sid)
    [qr] = found["QuestionnaireResponse"]
    assert qr["author"] == {"reference": f"Patient/{PATIENT}"}
    assert qr["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert len(found["Observation"]) == 1 and len(found["Provenance"]) == 1


def test_phq9_from_a_standalone_clinician_launch_with_a_picked_patient(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=CLINICIAN, patient=PATIENT))
    sid = browser.fill_and_send("phq-9", phq9_answers(POINTS))
    [qr] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert qr["author"] == {"reference": CLINICIAN}
    assert qr["source"] == qr["subject"] == {"reference": f"Patient/{PATIENT}"}
