"""The exact QuestionnaireResponse and adherence Observations built from a review."""
import json
from datetime import date

import pytest

from smart_app.medications import (
    PENDING_RESPONSE_REF,
    ReviewMeta,
    adherence_observations,
    fill_response_ref,
    parse_review,
    load_questionnaire,
    review_rows,
    to_questionnaire_response,
)
from smart_app.medications.questionnaire import QUESTIONNAIRE_PATH
from tests.medications.builders import request, rx_concept, statement

Q_URL = "http://smart-previsit.example.org/fhir/Questionnaire/medication-review"
STATUS_SYSTEM = "http://smart-previsit.example.org/fhir/CodeSystem/medication-review-status"
REASON_SYSTEM = "http://smart-previsit.example.org/fhir/CodeSystem/medication-stop-reason"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

META = ReviewMeta(
    subject="Patient/p1",
    authored="2026-03-15T09:30:00Z",
    author="Patient/p1",
    source="Patient/p1",
    encounter="Encounter/e1",
    response_ref="urn:uuid:6f1c1a52-0000-4000-8000-000000000001",
)


@pytest.fixture
def review():
    """Rows sort by name: Fish oil (not sure), Lisinopril (request + statement, taken differently),
    Metformin (not taken, for another reason in the patient's words); plus one added medicine."""
    rows = review_rows([
        request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril 10 MG Oral Tablet")}),
        statement("s1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril")}),
        request("r2", {"medicationCodeableConcept": rx_concept("860975", "Metformin 500 MG Oral Tablet")}),
        statement("s3", {"medicationCodeableConcept": {"text": "Fish oil"}}),
    ])
    form = {
        "med.rx-r1.status": "different", "med.rx-r1.how": "Half a tablet",
        "med.rx-r2.status": "not-taking", "med.rx-r2.since": "2026-02-01", "med.rx-r2.why": "other",
        "med.rx-r2.why_other": "  Ran out before the refill  ",
        "med.rx-r2.side_effects": "Upset stomach",
        "med.st-s3.status": "unsure",
        "add.0.name": "Ibuprofen", "add.0.dose": "200 mg", "add.0.often": "When needed",
    }
    parsed, errors = parse_review(rows, form, today=date(2026, 3, 15))
    assert errors == {}
    return parsed


def group_item(link_id, text, children):
    return {"linkId": link_id, "text": text, "item": children}


def answer_item(link_id, text, answers):
    return {"linkId": link_id, "text": text, "answer": answers}


def test_questionnaire_response_exact_shape(review):
    qr = to_questionnaire_response(review, META)
    status = lambda code, display: [{"valueCoding": {"system": STATUS_SYSTEM, "code": code, "display": display}}]  # noqa: E731
    assert qr == {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{Q_URL}|{load_questionnaire()['version']}",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "authored": "2026-03-15T09:30:00Z",
        "author": {"reference": "Patient/p1"},
        "source": {"reference": "Patient/p1"},
        "item": [
            group_item("medication", "Medicine on your list", [
                answer_item("medication.source", "Record this answer is about", [
                    {"valueReference": {"reference": "MedicationStatement/s3", "display": "Fish oil"}},
                ]),
                answer_item("medication.name", "Medicine", [{"valueString": "Fish oil"}]),
                answer_item("medication.status", "Are you taking this medicine?", status("unsure", "Not sure")),
            ]),
            group_item("medication", "Medicine on your list", [
                answer_item("medication.source", "Record this answer is about", [
                    {"valueReference": {"reference": "MedicationRequest/r1", "display": "Lisinopril 10 MG Oral Tablet"}},
                    {"valueReference": {"reference": "MedicationStatement/s1", "display": "Lisinopril 10 MG Oral Tablet"}},
                ]),
                answer_item("medication.name", "Medicine", [{"valueString": "Lisinopril 10 MG Oral Tablet"}]),
                answer_item("medication.code", "Medicine code",
                            [{"valueCoding": {"system": RXNORM, "code": "314076", "display": "Lisinopril 10 MG Oral Tablet"}}]),
                answer_item("medication.status", "Are you taking this medicine?", status("different", "Taking it differently")),
                answer_item("medication.how-different", "If taking it differently: how do you take it?", [{"valueString": "Half a tablet"}]),
            ]),
            group_item("medication", "Medicine on your list", [
                answer_item("medication.source", "Record this answer is about", [
                    {"valueReference": {"reference": "MedicationRequest/r2", "display": "Metformin 500 MG Oral Tablet"}},
                ]),
                answer_item("medication.name", "Medicine", [{"valueString": "Metformin 500 MG Oral Tablet"}]),
                answer_item("medication.code", "Medicine code",
                            [{"valueCoding": {"system": RXNORM, "code": "860975", "display": "Metformin 500 MG Oral Tablet"}}]),
                answer_item("medication.status", "Are you taking this medicine?", status("not-taking", "Not taking it")),
                answer_item("medication.since", "If not taking it: since when?", [{"valueDate": "2026-02-01"}]),
                answer_item("medication.why-not", "If not taking it: why not?",
                            [{"valueCoding": {"system": REASON_SYSTEM, "code": "other", "display": "Other reason"}}]),
                answer_item("medication.why-other", "If another reason: what is it?", [{"valueString": "Ran out before the refill"}]),
                answer_item("medication.side-effects", "Any side effects? (optional)", [{"valueString": "Upset stomach"}]),
            ]),
            group_item("added-medication", "A medicine that is not on the list", [
                answer_item("added-medication.name", "Name of the medicine", [{"valueString": "Ibuprofen"}]),
                answer_item("added-medication.dose", "Dose", [{"valueString": "200 mg"}]),
                answer_item("added-medication.how-often", "How often", [{"valueString": "When needed"}]),
            ]),
        ],
    }


def test_questionnaire_response_leaves_out_missing_context():
    rows = review_rows([request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril")})])
    parsed, _ = parse_review(rows, {"med.rx-r1.status": "taking"})
    qr = to_questionnaire_response(parsed, ReviewMeta(subject="Patient/p1", authored="2026-03-15"))
    assert set(qr) == {"resourceType", "questionnaire", "status", "subject", "authored", "item"}


def adherence(system, code, display, text):
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text}


def test_adherence_observations_exact_shape(review):
    observations = adherence_observations(review, META)
    common = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "71799-1",
                             "display": "Adherence to prescribed medication instructions [Reported]"}],
                 "text": "Medication adherence (reported)"},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "effectiveDateTime": "2026-03-15T09:30:00Z",
        "performer": [{"reference": "Patient/p1"}],
        "derivedFrom": [{"reference": "urn:uuid:6f1c1a52-0000-4000-8000-000000000001"}],
    }
    assert observations == [
        {**common,
         "focus": [{"reference": "MedicationStatement/s3", "display": "Fish oil"}],
         "valueCodeableConcept": adherence("http://terminology.hl7.org/CodeSystem/data-absent-reason", "asked-unknown", "Asked But Unknown", "Not sure")},
        {**common,
         "focus": [{"reference": "MedicationRequest/r1", "display": "Lisinopril 10 MG Oral Tablet"},
                   {"reference": "MedicationStatement/s1", "display": "Lisinopril 10 MG Oral Tablet"}],
         "valueCodeableConcept": adherence("http://snomed.info/sct", "702565001", "Non-compliance of drug therapy", "Taking it differently"),
         "note": [{"text": "How they take it: Half a tablet"}]},
        {**common,
         "focus": [{"reference": "MedicationRequest/r2", "display": "Metformin 500 MG Oral Tablet"}],
         "valueCodeableConcept": adherence("http://snomed.info/sct", "715036001", "Does not take medication", "Not taking it"),
         "note": [{"text": "Not taking since: 2026-02-01"}, {"text": "Why not: Other reason (Ran out before the refill)"},
                  {"text": "Side effects: Upset stomach"}]},
    ]


def test_taking_as_prescribed_is_complies_with_drug_therapy():
    rows = review_rows([request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril")})])
    parsed, _ = parse_review(rows, {"med.rx-r1.status": "taking"})
    (obs,) = adherence_observations(parsed, META)
    assert obs["valueCodeableConcept"]["coding"] == [{"system": "http://snomed.info/sct", "code": "1156699004", "display": "Complies with drug therapy"}]
    assert "note" not in obs


def test_performer_defaults_to_author_and_can_differ():
    rows = review_rows([request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril")})])
    parsed, _ = parse_review(rows, {"med.rx-r1.status": "taking"})
    meta = ReviewMeta(subject="Patient/p1", authored="2026-03-15", author="Patient/p1", performer="Practitioner/dr1")
    (obs,) = adherence_observations(parsed, meta)
    assert obs["performer"] == [{"reference": "Practitioner/dr1"}]


def test_pending_response_reference_is_filled_by_the_caller(review):
    meta = ReviewMeta(subject="Patient/p1", authored="2026-03-15")
    observations = adherence_observations(review, meta)
    assert {o["derivedFrom"][0]["reference"] for o in observations} == {PENDING_RESPONSE_REF}
    filled = fill_response_ref(observations, "urn:uuid:abc")
    assert {o["derivedFrom"][0]["reference"] for o in filled} == {"urn:uuid:abc"}
    # The originals are not changed.
    assert observations[0]["derivedFrom"][0]["reference"] == PENDING_RESPONSE_REF


def test_added_medicines_get_no_adherence_observation(review):
    assert len(adherence_observations(review, META)) == len(review.reports) == 3


def _items_by_link_id(items, out=None):
    out = {} if out is None else out
    for item in items:
        out[item["linkId"]] = item
        _items_by_link_id(item.get("item") or [], out)
    return out


def test_bundled_questionnaire_is_the_one_shipped():
    shipped = json.loads(QUESTIONNAIRE_PATH.read_text())
    assert shipped == load_questionnaire()
    # The one deliberate pin of the version: 1.1.0 added medication.why-other. Change the item set, bump it here.
    assert shipped["url"] == Q_URL and shipped["version"] == "1.1.0" and shipped["status"] == "active"
    groups = _items_by_link_id(shipped["item"])
    assert groups["medication"]["repeats"] is True and groups["added-medication"]["repeats"] is True


def test_every_answered_item_exists_in_the_questionnaire_with_a_matching_type(review):
    expected_type = {
        "valueReference": {"reference"}, "valueString": {"string", "text"}, "valueDate": {"date"},
        "valueCoding": {"choice", "open-choice"},
    }
    items = _items_by_link_id(load_questionnaire()["item"])
    qr = to_questionnaire_response(review, META)
    seen = set()
    for answered in _items_by_link_id(qr["item"]).values():
        definition = items[answered["linkId"]]
        assert answered["text"] == definition["text"]
        seen.add(answered["linkId"])
        for answer in answered.get("answer", []):
            (kind,) = answer
            assert definition["type"] in expected_type[kind], answered["linkId"]
            if "answerOption" in definition:
                assert answer[kind] in [{k: v for k, v in o["valueCoding"].items() if not k.startswith("_")}  # not its translations
                                           for o in definition["answerOption"]]
    # The fixture review answers every kind of item the questionnaire has.
    assert seen == set(items)


def test_choice_options_match_enable_when_codes():
    items = _items_by_link_id(load_questionnaire()["item"])
    status_codes = {o["valueCoding"]["code"] for o in items["medication.status"]["answerOption"]}
    assert status_codes == {"taking", "different", "not-taking", "unsure"}
    for link_id in ("medication.how-different", "medication.since", "medication.why-not"):
        (condition,) = items[link_id]["enableWhen"]
        assert condition["question"] == "medication.status"
        assert condition["answerCoding"]["code"] in status_codes


def test_other_reason_words_are_asked_only_after_other_reason():
    group = _items_by_link_id(load_questionnaire()["item"])["medication"]
    link_ids = [item["linkId"] for item in group["item"]]
    assert link_ids.index("medication.why-other") == link_ids.index("medication.why-not") + 1
    why_other = group["item"][link_ids.index("medication.why-other")]
    assert why_other["type"] == "text" and "required" not in why_other
    other = next(o["valueCoding"] for o in group["item"][link_ids.index("medication.why-not")]["answerOption"]
                 if o["valueCoding"]["code"] == "other")
    assert why_other["enableWhen"] == [{"question": "medication.why-not", "operator": "=",
                                        "answerCoding": {"system": other["system"], "code": other["code"]}}]


def _not_taking(form_extra):
    """One medicine, not taken, with the given extra fields; returns its QR group answers and Observation notes."""
    rows = review_rows([request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril")})])
    parsed, errors = parse_review(rows, {"med.rx-r1.status": "not-taking", **form_extra})
    assert errors == {}
    (group,) = to_questionnaire_response(parsed, META)["item"]
    (obs,) = adherence_observations(parsed, META)
    return {item["linkId"]: item["answer"] for item in group["item"]}, [n["text"] for n in obs["note"]]


def test_other_reason_without_words_writes_the_reason_alone():
    answers, notes = _not_taking({"med.rx-r1.why": "other", "med.rx-r1.why_other": "   "})
    assert answers["medication.why-not"][0]["valueCoding"]["code"] == "other"
    assert "medication.why-other" not in answers
    assert notes == ["Why not: Other reason"]


def test_other_reason_words_are_not_written_for_another_reason():
    """Words typed under "Other reason" and then a different reason chosen are dropped, not sent."""
    answers, notes = _not_taking({"med.rx-r1.why": "cost", "med.rx-r1.why_other": "Ran out"})
    assert "medication.why-other" not in answers
    assert notes == ["Why not: Cost"]


def test_resources_go_through_the_shared_write_back_bundle(review):
    """One QR, one Observation per medicine with its own identifier, all derived from the bundle's QR."""
    from smart_app.delivery.writeback import build_submission_bundle

    meta = ReviewMeta(subject="Patient/p1", authored="2026-03-15T09:30:00Z", author="Patient/p1")
    bundle = build_submission_bundle(
        questionnaire_response=to_questionnaire_response(review, meta),
        observations=adherence_observations(review, meta),
        submission_id="sub-1", identifier_system="urn:ietf:rfc:3986:test", patient_ref="Patient/p1",
        encounter_ref=None, author_ref="Patient/p1", app_device={"reference": "Device/app"}, recorded="2026-03-15T09:30:01Z",
    )
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["QuestionnaireResponse", "Observation", "Observation", "Observation", "Provenance"]
    qr_url = bundle["entry"][0]["fullUrl"]
    observations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert all(o["derivedFrom"] == [{"reference": qr_url}] for o in observations)
    identifiers = [o["identifier"][0]["value"] for o in observations]
    assert len(set(identifiers)) == 3
