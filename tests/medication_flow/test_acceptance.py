"""Issue 5 acceptance, in the real sandbox: a patient reviews and sends; the clinician sees three differences."""
from __future__ import annotations

import re

from smart_app.medications import load_questionnaire
from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import (
    QUESTIONNAIRE_URL,
    SUBMISSION_SYSTEM,
    Reviewer,
    children,
    path_of,
    stored_adherence,
    stored_provenance,
    stored_reviews,
)

SIDE_EFFECTS = {"status": "not-taking", "since": "2024-03-01", "why": "side-effects", "side_effects": "Dry cough"}
DIFFERENTLY = {"status": "different", "how": "Only once a day, with breakfast"}
VITAMIN_D = {"name": "Vitamin D3", "dose": "1000 IU", "often": "once a day"}

# SNOMED CT adherence findings written for each answer (docs/medication-adherence-codes.md).
COMPLIES, NON_COMPLIANCE, DOES_NOT_TAKE = "1156699004", "702565001", "715036001"


def _send_acceptance_review(e2e: E2E) -> tuple[str, dict[str, str]]:
    """The patient's standalone review: 9 medicines, one stopped, one taken differently, one added."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    reviewer = Reviewer(e2e, handle, e2e.client)
    body, rows = reviewer.open()
    assert len(rows) >= 5
    form = reviewer.answers(rows, {"lisinopril": SIDE_EFFECTS, "metformin": DIFFERENTLY}, [VITAMIN_D])
    # "Add a medicine" without JavaScript: the page comes back with the answers kept and one more block.
    added = reviewer.post(form, action="add-medicine")
    assert added.status_code == 200
    page = added.get_data(as_text=True)
    assert 'id="add-1-name"' in page and 'value="Vitamin D3"' in page
    assert 'value="different" checked' in page
    response = reviewer.post(form)
    assert response.status_code == 303 and path_of(response).endswith("/medications/check")
    check, submission_id = reviewer.check()
    assert "Not taking it" in check and "Why: Side effects" in check and "How: Only once a day, with breakfast" in check
    assert "Vitamin D3" in check and "9 records of whether you take each medicine as prescribed" in check
    sent = reviewer.send(submission_id)
    assert sent.status_code == 303
    receipt = e2e.client.get(path_of(sent))
    assert "Sent to your care team" in receipt.get_data(as_text=True)
    return submission_id, rows


def test_patient_review_is_stored_as_one_response_nine_observations_and_one_provenance(e2e: E2E) -> None:
    """Exactly one QR, one adherence Observation per medicine and one Provenance, with the answers given."""
    submission_id, rows = _send_acceptance_review(e2e)

    reviews = stored_reviews(e2e, PATIENT)
    assert len(reviews) == 1
    qr = reviews[0]
    assert qr["status"] == "completed"
    assert qr["identifier"] == {"system": SUBMISSION_SYSTEM, "value": submission_id}
    assert qr["questionnaire"] == f"{QUESTIONNAIRE_URL}|{load_questionnaire()['version']}"
    assert qr["author"] == {"reference": f"Patient/{PATIENT}"}
    groups = [g for g in qr["item"] if g["linkId"] == "medication"]
    added = [g for g in qr["item"] if g["linkId"] == "added-medication"]
    assert len(groups) == len(rows) == 9
    by_name = {children(g)["medication.name"][0]["valueString"]: children(g) for g in groups}
    lisinopril = by_name["lisinopril 10 MG Oral Tablet"]
    assert lisinopril["medication.status"][0]["valueCoding"]["code"] == "not-taking"
    assert lisinopril["medication.why-not"][0]["valueCoding"]["code"] == "side-effects"
    assert lisinopril["medication.since"] == [{"valueDate": "2024-03-01"}]
    assert lisinopril["medication.side-effects"] == [{"valueString": "Dry cough"}]
    assert lisinopril["medication.source"][0]["valueReference"]["reference"] == "MedicationRequest/mr-ana-1"
    metformin = by_name["metformin hydrochloride 500 MG Oral Tablet"]
    assert metformin["medication.status"][0]["valueCoding"]["code"] == "different"
    assert metformin["medication.how-different"] == [{"valueString": "Only once a day, with breakfast"}]
    # metformin is a referenced Medication: its RxNorm code came from the _include, not a second read.
    assert metformin["medication.code"][0]["valueCoding"]["code"] == "861007"
    others = {name for name, c in by_name.items() if c["medication.status"][0]["valueCoding"]["code"] == "taking"}
    assert len(others) == 7
    assert len(added) == 1
    assert children(added[0]) == {"added-medication.name": [{"valueString": "Vitamin D3"}],
                                  "added-medication.dose": [{"valueString": "1000 IU"}],
                                  "added-medication.how-often": [{"valueString": "once a day"}]}

    observations = stored_adherence(e2e, PATIENT)
    assert len(observations) == 9
    values = {}
    for obs in observations:
        assert obs["status"] == "final"
        assert obs["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr['id']}"}]
        assert obs["performer"] == [{"reference": f"Patient/{PATIENT}"}]
        assert obs["identifier"][0]["value"].startswith(f"{submission_id}/obs/")
        for focus in obs["focus"]:
            values[focus["reference"]] = obs["valueCodeableConcept"]["coding"][0]["code"]
    assert values["MedicationRequest/mr-ana-1"] == DOES_NOT_TAKE
    assert values["MedicationRequest/mr-ana-2"] == NON_COMPLIANCE
    assert sorted(values.values()).count(COMPLIES) == len(values) - 2

    targets = {f"QuestionnaireResponse/{qr['id']}", *(f"Observation/{o['id']}" for o in observations)}
    provenance = stored_provenance(e2e, targets)
    assert len(provenance) == 1
    assert {t["reference"] for t in provenance[0]["target"]} == targets
    assert any(a["who"] == {"reference": f"Patient/{PATIENT}"} for a in provenance[0]["agent"])


def test_clinician_sees_the_three_differences_beside_the_current_list(e2e: E2E) -> None:
    """The EHR launch for the same patient shows not taking, taking differently and the new medicine."""
    _send_acceptance_review(e2e)
    clinician = e2e.new_browser()
    handle = e2e.launcher.ehr(patient=PATIENT, client=clinician)
    home = clinician.get(f"/l/{handle}/").get_data(as_text=True)
    assert "Medication review" in home and f"/l/{handle}/medications/clinician" in home
    # Opening the chart is enough: the sidebar's landing page already names the three differences.
    assert ("The patient reported 3 differences: Not taking: lisinopril 10 MG Oral Tablet; "
            "Taking differently: metformin hydrochloride 500 MG Oral Tablet; New medicine: Vitamin D3.") in home

    page = clinician.get(f"/l/{handle}/medications/clinician").get_data(as_text=True)
    differences = re.findall(r'<li class="difference diff-([a-z-]+)">\s*<mark class="diff-label">([^<]+)</mark>\s*'
                             r'<strong class="med-name">([^<]+)</strong>\s*<span class="diff-detail">([^<]+)</span>', page)
    assert [(kind, label, name) for kind, label, name, _ in differences] == [
        ("not-taking", "Not taking", "lisinopril 10 MG Oral Tablet"),
        ("taking-differently", "Taking differently", "metformin hydrochloride 500 MG Oral Tablet"),
        ("new-medicine", "New medicine", "Vitamin D3"),
    ]
    assert "(side effects)" in differences[0][3]
    assert "Only once a day, with breakfast" in differences[1][3]
    # The current list beside it flags the two listed medicines, and only those.
    assert len(re.findall(r'class="current-row flagged"', page)) == 2
    assert "this app does not change orders" in page


def test_clinician_view_before_any_review_says_none_was_sent(e2e: E2E) -> None:
    """No review yet: the clinician sees the current list and a plain note, not an empty diff."""
    handle = e2e.launcher.ehr(patient=PATIENT)
    page = e2e.client.get(f"/l/{handle}/medications/clinician").get_data(as_text=True)
    assert "The patient has not sent a medication review yet." in page
    assert "The patient has not sent a medication review yet." in e2e.page(handle).get_data(as_text=True)
    assert 'class="difference' not in page
    assert page.count('class="current-row"') == 9


def test_a_second_review_is_a_new_response_and_the_clinician_sees_the_latest(e2e: E2E) -> None:
    """Reviewing again after sending writes a second set; the clinician's view follows the newest one."""
    first_id, _ = _send_acceptance_review(e2e)
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    body, _ = reviewer.open()
    assert 'value="not-taking" checked' not in body  # the sent review's draft is gone
    second_id, _ = reviewer.review_and_send({"aspirin": {"status": "unsure"}})
    assert second_id != first_id
    assert sorted(r["identifier"]["value"] for r in stored_reviews(e2e, PATIENT)) == sorted([first_id, second_id])
    assert len(stored_adherence(e2e, PATIENT)) == 18

    clinician = e2e.new_browser()
    handle = e2e.launcher.ehr(patient=PATIENT, client=clinician)
    home = clinician.get(f"/l/{handle}/").get_data(as_text=True)
    assert "The patient reported 1 difference: Not sure: aspirin 81 MG Oral Tablet." in home
    page = clinician.get(f"/l/{handle}/medications/clinician").get_data(as_text=True)
    assert re.findall(r'<mark class="diff-label">([^<]+)</mark>\s*<strong', page) == ["Not sure"]
