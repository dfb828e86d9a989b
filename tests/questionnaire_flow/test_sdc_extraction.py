"""SDC template- and definition-based extraction of the HL7 SDC examples, sent to the sandbox.

The forms are HL7's own extract examples (tests/forms_corpus/, MANIFEST-terminology.md). One
send writes the response, the extracted resources and one Provenance, all conditional creates
with this submission's identifiers; the patient's own details become a proposal (a Task that
contains the proposed Patient) and the EHR's Patient is left exactly as it was.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from smart_app import create_app
from tests.fixtures.e2e import E2E, LAUNCH_JSON, PATIENT
from tests.questionnaire_flow.corpus import corpus_form, fields
from tests.questionnaire_flow.flow import SYSTEM, Browser, of_submission

CLIENT = "smart-previsit-extract"
WRITES = ("RelatedPerson", "Task", "Condition", "AllergyIntolerance", "MedicationStatement", "FamilyMemberHistory")
EXTRACT_SCOPE = LAUNCH_JSON["scope"] + "".join(f" patient/{t}.c" for t in WRITES)
ANSWERS = {"given": ["Ana", "Maria"], "family": "Lopez", "gender": "http://hl7.org/fhir/administrative-gender|female",
           "dob": "1985-04-12", "ihi": "8003608166690503", "mobile-phone": "0400 000 000",
           "contact-name": "Marta Lopez", "relationship": "http://terminology.hl7.org/CodeSystem/v2-0131|N",
           "phone": "0411 111 111", "height": "1.68", "weight": "61.5", "complication": "false"}


def _registration(fhir_base: str, scope: str) -> dict:
    """launch.json as the app reads it, for a sandbox client registered with `scope`."""
    return {"client_name": LAUNCH_JSON["client_name"], "launch_uri": LAUNCH_JSON["launch_uri"],
            "redirect_uris": LAUNCH_JSON["redirect_uris"], "jwks_uri": LAUNCH_JSON["jwks_uri"], "scope": scope,
            "fhir_servers": [{"name": "Sandbox (test)", "iss": fhir_base, "client_id": CLIENT,
                              "token_endpoint_auth_method": "none",
                              "frame_ancestors": [fhir_base.removesuffix("/fhir")]}]}


@pytest.fixture
def e2e_app(e2e_sandbox, tmp_path: Path, client_key_paths):
    """The app registered with the extraction write scopes (the sandbox knows this client too)."""
    e2e_sandbox.register_client(client_id=CLIENT, redirect_uris=LAUNCH_JSON["redirect_uris"], scope=EXTRACT_SCOPE,
                                token_endpoint_auth_method="none")
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "app-instance"),
                       "REGISTRATION": _registration(e2e_sandbox.fhir_base, EXTRACT_SCOPE),
                       "SECRET_KEY": "e2e-secret", **client_key_paths})


def _send(e2e: E2E, name: str, exclude: tuple[str, ...] = (), before_send=lambda: None) -> tuple[str, str, Browser]:
    """Store the corpus form on the EHR, launch with it, fill, review and send; (review html, submission id, browser)."""
    questionnaire = corpus_form(name)
    e2e.sandbox.store.create(dict(questionnaire))
    handle = e2e.launcher.ehr(patient=PATIENT, questionnaire=f"Questionnaire/{questionnaire['id']}",
                              exclude_scopes=exclude)
    browser = Browser(e2e.client, handle)
    response = browser.post_form(questionnaire["id"], fields(questionnaire, ANSWERS))
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    html, _ = browser.review(questionnaire["id"])
    before_send()
    response = browser.send(questionnaire["id"])
    assert response.status_code == 303
    return html, response.headers["Location"].rsplit("/", 1)[-1], browser


def _written(e2e: E2E, sid: str, resource_type: str) -> list[dict]:
    """This submission's resources of one type on the sandbox."""
    return of_submission(e2e.sandbox.resources(resource_type), sid)


@pytest.mark.parametrize("name", ["sdc-extract-complex-template", "sdc-extract-complex-defn3"])
def test_sdc_extract_examples_write_their_resources_in_one_transaction(e2e, name):
    before = e2e.sandbox.read("Patient", PATIENT)
    html, sid, _ = _send(e2e, name)

    [qr] = _written(e2e, sid, "QuestionnaireResponse")
    gender = next(i for i in qr["item"][0]["item"] if i["linkId"] == "gender")
    assert gender["answer"] == [{"valueCoding": {"system": "http://hl7.org/fhir/administrative-gender",
                                                 "code": "female", "display": "Female"}}]
    observations = {o["code"]["coding"][0]["code"]: o for o in _written(e2e, sid, "Observation")}
    assert set(observations) >= {"8302-2", "29463-7"}
    weight = observations["29463-7"]
    assert weight["valueQuantity"]["value"] == 61.5 and weight["valueQuantity"]["unit"] == "kg"
    height = observations["8302-2"]["valueQuantity"]
    # The template converts metres to centimetres (`answer.value * 100`); the definition form keeps metres.
    assert (height["value"], height["unit"]) == ((168, "cm") if name.endswith("template") else (1.68, "m"))
    for observation in observations.values():
        assert observation["subject"] == {"reference": f"Patient/{PATIENT}"}
        assert {"reference": f"QuestionnaireResponse/{qr['id']}"} in observation["derivedFrom"]

    [contact] = _written(e2e, sid, "RelatedPerson")
    assert contact["patient"] == {"reference": f"Patient/{PATIENT}"}
    assert contact["name"][0]["text"] == "Marta Lopez"
    assert contact["relationship"][0]["coding"][0]["code"] == "N"

    [task] = _written(e2e, sid, "Task")
    assert (task["intent"], task["status"]) == ("proposal", "requested")
    assert task["focus"] == task["for"] == {"reference": f"Patient/{PATIENT}"}
    [proposed] = task["contained"]
    assert proposed["resourceType"] == "Patient"
    assert proposed["name"][0]["given"] == ["Ana", "Maria"] and proposed["gender"] == "female"
    assert task["input"][0]["valueReference"] == {"reference": "#proposed-patient"}
    assert task["reasonReference"] == {"reference": f"QuestionnaireResponse/{qr['id']}"}
    # The EHR's own Patient was not touched: the change waits for a clinician.
    assert e2e.sandbox.read("Patient", PATIENT)["meta"]["versionId"] == before["meta"]["versionId"]

    [provenance] = _written(e2e, sid, "Provenance")
    targets = {t["reference"].split("/")[0] for t in provenance["target"]}
    assert targets == {"QuestionnaireResponse", "Observation", "RelatedPerson", "Task"}
    for resource in [qr, *observations.values(), contact, task]:
        identifiers = resource["identifier"] if isinstance(resource["identifier"], list) else [resource["identifier"]]
        assert any(i["system"] == SYSTEM and i["value"].startswith(sid) for i in identifiers)

    # The clinician's review page says what will be written, in words (no resource types).
    assert "A contact person for the patient: Marta Lopez (Next-of-Kin)." in html
    assert "Proposed changes to the patient&#39;s details, waiting for your review" in html
    assert "RelatedPerson" not in html and "Task" not in html


def test_a_transaction_whose_answer_was_lost_is_resent_without_duplicates(e2e):
    # The EHR commits, then the connection drops: the app resends the same conditional bundle.
    _, sid, browser = _send(e2e, "sdc-extract-complex-template",
                            before_send=lambda: e2e.sandbox.set_fault("drop_after_commit", count=1))
    assert e2e.sandbox.faults.pending() == []
    # A clinician entered these (Practitioner/prac-lee): the receipt speaks to them.
    assert "Saved to the chart" in browser.get(f"submissions/{sid}").get_data(as_text=True)
    for resource_type, count in (("RelatedPerson", 1), ("Task", 1), ("Observation", 3), ("Provenance", 1)):
        assert len(_written(e2e, sid, resource_type)) == count, resource_type


def test_without_the_write_scopes_the_review_page_says_what_stays_in_the_answers(e2e):
    html, sid, _ = _send(e2e, "sdc-extract-complex-template", exclude=("patient/RelatedPerson.c", "patient/Task.c",
                                                                                   "patient/Task.rus", "user/Task.c"))
    assert _written(e2e, sid, "RelatedPerson") == [] and _written(e2e, sid, "Task") == []
    assert len(_written(e2e, sid, "QuestionnaireResponse")) == 1
    assert "This app was not allowed to write contact people to the record" in html
    assert "This app was not allowed to write proposed changes to the patient&#39;s details" in html


def test_a_history_form_writes_problems_allergies_medicines_and_family_history(e2e):
    from tests.questionnaire_flow.history_form import HISTORY, ROLE, SCT

    e2e.sandbox.store.create(dict(HISTORY))
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/previsit-history"))
    response = browser.post_form("previsit-history", {
        "q.problem.0": f"{SCT}|195967001", "q.since.0": "2010", "q.allergen.0": "Penicillin",
        "q.criticality.0": "http://hl7.org/fhir/allergy-intolerance-criticality|high",
        "q.medicine.0": "Salbutamol inhaler", "q.relative.0": f"{ROLE}|MTH", "q.family-condition.0": "Breast cancer",
        "q.vaccine-name.0": "Influenza"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    html, _ = browser.review("previsit-history")
    for line in ("A health problem the patient reported: Asthma.",
                 "An allergy or reaction the patient reported: Penicillin.",
                 "A medicine the patient said they take: Salbutamol inhaler.",
                 "Family health history: mother: Breast cancer."):
        assert line in html
    sid = browser.send("previsit-history").headers["Location"].rsplit("/", 1)[-1]

    [condition] = _written(e2e, sid, "Condition")
    assert condition["subject"] == {"reference": f"Patient/{PATIENT}"}  # not the pat-ben the form named
    assert condition["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    [allergy] = _written(e2e, sid, "AllergyIntolerance")
    assert allergy["criticality"] == "high" and allergy["code"] == {"text": "Penicillin"}
    [medicine] = _written(e2e, sid, "MedicationStatement")
    assert medicine["medicationCodeableConcept"] == {"text": "Salbutamol inhaler"}
    [family] = _written(e2e, sid, "FamilyMemberHistory")
    assert family["relationship"]["coding"][0]["code"] == "MTH"
    [provenance] = _written(e2e, sid, "Provenance")
    assert len(provenance["target"]) == 5  # the response and the four extracted resources
