"""Definition-based extraction of a history form: one resource per answered repetition, bound to the launch."""
from __future__ import annotations

from smart_app.forms import ExtractMeta, FormState, ResponseMeta, build_form, evaluate, to_questionnaire_response
from smart_app.forms.resource_extraction import extract_resources
from tests.questionnaire_flow.history_form import HISTORY, ROLE, SCT

ME = {"reference": "Patient/pat-ana"}
CRIT = "http://hl7.org/fhir/allergy-intolerance-criticality"


def _extract(post: dict):
    """Fill the form from a POST-like dict and extract."""
    form = build_form(HISTORY)
    state = FormState.from_post(form, post)
    view = evaluate(form, state)
    assert view.valid, view.errors
    qr = to_questionnaire_response(form, state, ResponseMeta(subject=ME, authored="2026-01-15T09:00:00+01:00"), view=view)
    return extract_resources(HISTORY, qr, ExtractMeta(subject=ME, effective="2026-01-15T09:00:00+01:00"), seed="s-1")


POST = {"n.problems.r": "2", "q.problem.0": f"{SCT}|195967001", "q.since.0": "2010",
        "q.problem.1": f"{SCT}|44054006",
        "q.allergen.0": "Penicillin", "q.criticality.0": f"{CRIT}|high",
        "q.medicine.0": "Salbutamol inhaler",
        "q.relative.0": f"{ROLE}|MTH", "q.family-condition.0": "Breast cancer",
        "q.vaccine-name.0": "Influenza"}


def test_each_answered_repetition_becomes_one_resource():
    result = _extract(POST)
    by_type: dict[str, list[dict]] = {}
    for extracted in result.resources:
        by_type.setdefault(extracted.resource["resourceType"], []).append(extracted.resource)
    asthma, diabetes = by_type["Condition"]
    assert asthma["code"] == {"coding": [{"system": SCT, "code": "195967001", "display": "Asthma"}], "text": "Asthma"}
    assert asthma["onsetDateTime"] == "2010" and "onsetDateTime" not in diabetes
    assert asthma["category"][0]["coding"][0]["code"] == "problem-list-item"
    [allergy] = by_type["AllergyIntolerance"]
    assert allergy["code"] == {"text": "Penicillin"} and allergy["criticality"] == "high"
    assert allergy["category"] == ["medication"]
    [medicine] = by_type["MedicationStatement"]
    assert medicine["medicationCodeableConcept"] == {"text": "Salbutamol inhaler"} and medicine["status"] == "active"
    [family] = by_type["FamilyMemberHistory"]
    assert family["relationship"]["coding"][0]["code"] == "MTH"
    assert family["condition"] == [{"code": {"text": "Breast cancer"}}]
    assert family["status"] == "completed"


def test_everything_is_about_the_launch_patient_and_unconfirmed():
    result = _extract(POST)
    for extracted in result.resources:
        resource = extracted.resource
        ref = resource.get("subject") or resource.get("patient")
        assert ref == ME, resource["resourceType"]  # the form's own "Patient/pat-ben" never survives
    conditions = [e.resource for e in result.resources if e.resource["resourceType"] in ("Condition", "AllergyIntolerance")]
    assert all(c["verificationStatus"]["coding"][0]["code"] == "unconfirmed" for c in conditions)


def test_types_outside_a_previsit_form_are_reported_not_written():
    result = _extract(POST)
    assert result.skipped == ["Immunization"]
    assert all(e.resource["resourceType"] != "Immunization" for e in result.resources)


def test_unanswered_repetitions_extract_nothing_and_keys_are_stable():
    sparse = _extract({"q.allergen.0": "Latex"})
    assert [e.resource["resourceType"] for e in sparse.resources] == ["AllergyIntolerance"]
    assert [e.key for e in _extract(POST).resources] == [e.key for e in _extract(POST).resources]


def test_no_patient_details_answered_means_no_proposal():
    import json
    from pathlib import Path

    questionnaire = json.loads((Path(__file__).resolve().parents[1] / "forms_corpus" / "sdc-extract-complex-template.json")
                               .read_text(encoding="utf-8"))
    form = build_form(questionnaire)
    # The date of birth is asked but this template does not carry it: the Patient would be empty.
    state = FormState.from_post(form, {"q.weight.0": "70", "q.dob.0": "1985-04-12"})
    view = evaluate(form, state)
    qr = to_questionnaire_response(form, state, ResponseMeta(subject=ME), view=view)
    result = extract_resources(questionnaire, qr, ExtractMeta(subject=ME), seed="s-2")
    assert [e.resource["resourceType"] for e in result.resources] == ["Observation"]


def test_a_coded_answer_to_an_observation_value_is_a_codeable_concept():
    sd = "http://hl7.org/fhir/StructureDefinition/"
    q = {"resourceType": "Questionnaire", "status": "active", "item": [{
        "linkId": "smoking", "type": "choice", "text": "Do you smoke?", "definition": sd + "Observation#Observation.value[x]",
        "answerOption": [{"valueCoding": {"system": "http://snomed.info/sct", "code": "266919005", "display": "Never smoked"}}],
        "extension": [{"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-definitionExtract",
                       "extension": [{"url": "definition", "valueCanonical": sd + "Observation"}]},
                      {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-definitionExtractValue",
                       "extension": [{"url": "definition", "valueUri": sd + "Observation#Observation.code"},
                                     {"url": "fixed-value", "valueCodeableConcept": {"coding": [
                                         {"system": "http://loinc.org", "code": "72166-2"}]}}]}]}]}
    form = build_form(q)
    state = FormState.from_post(form, {"q.smoking.r": "http://snomed.info/sct|266919005"})
    qr = to_questionnaire_response(form, state, ResponseMeta(subject=ME), view=evaluate(form, state))
    [obs] = [e.resource for e in extract_resources(q, qr, ExtractMeta(subject=ME), seed="s-3").resources]
    assert obs["valueCodeableConcept"] == {"coding": [{"system": "http://snomed.info/sct", "code": "266919005",
                                                       "display": "Never smoked"}], "text": "Never smoked"}
    assert obs["code"]["coding"][0]["code"] == "72166-2" and obs["status"] == "final"
