"""The intake form, sent from both launch modes: one response, weight, a BP panel with components, one Provenance."""
from __future__ import annotations

import pytest

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import INTAKE_URL, Browser, codes, intake_answers, stored


def _launch(e2e, mode):
    """A handle for the given launch mode."""
    if mode == "ehr":
        return e2e.launcher.ehr(patient=PATIENT)
    return e2e.launcher.standalone(login=f"Patient/{PATIENT}")


@pytest.mark.parametrize("mode", ["ehr", "standalone"])
def test_intake_stores_weight_and_a_blood_pressure_panel(e2e, mode):
    browser = Browser(e2e.client, _launch(e2e, mode))
    sid = browser.fill_and_send("previsit-intake", intake_answers(weight="70.5", systolic="128", diastolic="82"))

    found = stored(e2e.sandbox, sid)
    [qr] = found["QuestionnaireResponse"]
    assert qr["questionnaire"] == INTAKE_URL + "|1.0.0"
    assert qr["status"] == "completed"
    answered = {i["linkId"] for i in qr["item"]}
    assert {"reason", "allergy-check", "measurements"} <= answered
    assert "allergy-details" not in answered  # disabled by allergy-check = false
    by_code = {frozenset(codes(o)): o for o in found["Observation"]}
    assert set(by_code) == {frozenset({"29463-7"}), frozenset({"85354-9"})}
    weight = by_code[frozenset({"29463-7"})]
    assert weight["valueQuantity"] == {"value": 70.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
    assert weight["category"][0]["coding"][0]["code"] == "vital-signs"
    bp = by_code[frozenset({"85354-9"})]
    assert "valueQuantity" not in bp
    components = {next(iter(codes(c))): c["valueQuantity"]["value"] for c in bp["component"]}
    assert components == {"8480-6": 128, "8462-4": 82}
    for obs in found["Observation"]:
        assert obs["subject"] == {"reference": f"Patient/{PATIENT}"}
        assert obs["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr['id']}"}]
        assert obs["status"] == "final"
    [provenance] = found["Provenance"]
    assert len(provenance["target"]) == 3
    if mode == "ehr":
        assert qr["encounter"] == weight["encounter"] == {"reference": "Encounter/enc-ana-visit"}


def test_reopening_shows_the_completed_response(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    sid = browser.fill_and_send("previsit-intake", intake_answers())
    qr = stored(e2e.sandbox, sid)["QuestionnaireResponse"][0]

    listing = browser.get("questionnaires/").get_data(as_text=True)
    assert f"/questionnaires/previsit-intake/responses/{qr['id']}" in listing
    page = browser.get(f"questionnaires/previsit-intake/responses/{qr['id']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Check-up" in text and "70.5 kg" in text
    # The fill page offers the completed answers rather than pretending nothing was done.
    assert f"/responses/{qr['id']}" in browser.open_form("previsit-intake").get_data(as_text=True)


def test_review_summarises_answers_in_plain_words_and_what_will_be_written(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    assert browser.post_form("previsit-intake", intake_answers(allergy="true") | {"q.allergy-details.r": "Penicillin"}).status_code == 303
    html, _ = browser.review("previsit-intake")
    assert "<dd>Yes</dd>" in html and "<dd>Penicillin</dd>" in html and "<dd>70.5 kg</dd>" in html
    # A clinician entering for the patient reads clinician words (the patient's variant is in tests/safety_flow).
    assert "The answers to “Pre-visit intake”" in html
    assert "A result for the chart: Body weight" in html
    # The seed's references carry no display and Practitioner is not granted: named generically.
    assert "the people in the care team who can see the chart" in html
    assert "Save to the chart" in html and "Send to my care team" not in html
