"""clinician_diff shows what the latest patient review says that differs from the current list."""
from datetime import date

import pytest

from smart_app.medications import (
    NotAMedicationReview,
    ReviewMeta,
    clinician_diff,
    parse_review,
    review_rows,
    to_questionnaire_response,
)
from tests.medications.builders import request, rx_concept, statement

META = ReviewMeta(subject="Patient/p1", authored="2026-03-15T09:30:00Z", author="Patient/p1")


def resources():
    return [
        request("r1", {"medicationCodeableConcept": rx_concept("314076", "Lisinopril 10 MG Oral Tablet")}),
        request("r2", {"medicationCodeableConcept": rx_concept("860975", "Metformin 500 MG Oral Tablet")}),
        request("r3", {"medicationCodeableConcept": rx_concept("197361", "Amlodipine 5 MG Oral Tablet")}),
        statement("s4", {"medicationCodeableConcept": {"text": "Fish oil"}}),
        request("r5", {"medicationCodeableConcept": rx_concept("617314", "Atorvastatin 10 MG Oral Tablet")}),
    ]


@pytest.fixture
def latest_qr():
    """The acceptance scenario: one not taking (side effects), one differently, one added; others fine."""
    rows = review_rows(resources())
    form = {
        "med.rx-r1.status": "taking",
        "med.rx-r2.status": "not-taking", "med.rx-r2.why": "side-effects", "med.rx-r2.since": "2026-02",
        "med.rx-r2.side_effects": "Upset stomach",
        "med.rx-r3.status": "different", "med.rx-r3.how": "Only in the morning",
        "med.st-s4.status": "taking",
        "med.rx-r5.status": "taking",
        "add.0.name": "Ibuprofen", "add.0.dose": "200 mg", "add.0.often": "When needed",
    }
    review, errors = parse_review(rows, form, today=date(2026, 3, 15))
    assert errors == {}
    return to_questionnaire_response(review, META)


def test_acceptance_scenario_shows_exactly_three_differences(latest_qr):
    rows = review_rows(resources())
    diffs = clinician_diff(rows, latest_qr)
    assert [(d.kind, d.label, d.medicine, d.detail) for d in diffs] == [
        ("not-taking", "Not taking", "Metformin 500 MG Oral Tablet", "Reported not taking it since February 2026 (side effects)"),
        ("taking-differently", "Taking differently", "Amlodipine 5 MG Oral Tablet", "Takes it differently: Only in the morning"),
        ("new-medicine", "New medicine", "Ibuprofen", "Not on the list: 200 mg, When needed"),
    ]
    assert diffs[0].side_effects == "Upset stomach"
    assert diffs[0].row.key == "rx-r2"
    assert diffs[2].row is None


def _not_taking_qr(**parts):
    """A review where Metformin is not taken, with the given fields, the rest taken as prescribed."""
    rows = review_rows(resources())
    form = {f"med.{r.key}.status": "taking" for r in rows}
    form.update({"med.rx-r2.status": "not-taking", **{f"med.rx-r2.{k}": v for k, v in parts.items()}})
    review, errors = parse_review(rows, form, today=date(2026, 3, 15))
    assert errors == {}
    return rows, to_questionnaire_response(review, META)


def test_other_reason_shows_the_patients_words_where_the_reason_is():
    rows, qr = _not_taking_qr(since="2026-02", why="other", why_other="Ran out and the pharmacy was closed")
    (diff,) = clinician_diff(rows, qr)
    assert (diff.kind, diff.medicine, diff.detail) == (
        "not-taking", "Metformin 500 MG Oral Tablet", "Reported not taking it since February 2026 (other reason: Ran out and the pharmacy was closed)")


def test_other_reason_without_words_shows_the_reason_alone():
    rows, qr = _not_taking_qr(why="other")
    (diff,) = clinician_diff(rows, qr)
    assert diff.detail == "Reported not taking it (other reason)"


def test_words_beside_a_different_reason_are_not_shown():
    """A response from elsewhere with why-other beside "Cost": the words do not belong to that reason."""
    rows, qr = _not_taking_qr(why="cost")
    metformin = next(g for g in qr["item"] if g["item"][1]["answer"][0]["valueString"].startswith("Metformin"))
    metformin["item"].append({"linkId": "medication.why-other", "answer": [{"valueString": "stray words"}]})
    (diff,) = clinician_diff(rows, qr)
    assert diff.detail == "Reported not taking it (cost)"


def test_not_sure_is_a_difference():
    rows = review_rows(resources())
    review, _ = parse_review(rows, {f"med.{r.key}.status": "unsure" if r.key == "st-s4" else "taking" for r in rows})
    (diff,) = clinician_diff(rows, to_questionnaire_response(review, META))
    assert (diff.kind, diff.label, diff.medicine) == ("not-sure", "Not sure", "Fish oil")


def test_all_taking_gives_no_differences():
    rows = review_rows(resources())
    review, _ = parse_review(rows, {f"med.{r.key}.status": "taking" for r in rows})
    assert clinician_diff(rows, to_questionnaire_response(review, META)) == []


def test_no_review_yet_gives_no_differences():
    assert clinician_diff(review_rows(resources()), None) == []


def test_report_matches_a_row_by_rxnorm_when_the_record_changed(latest_qr):
    """The prescription was re-issued with a new id after the review: still the same medicine."""
    changed = [r for r in resources() if r["id"] != "r2"]
    changed.append(request("r2-new", {"medicationCodeableConcept": rx_concept("860975", "Metformin 500 mg tablet")}))
    diffs = clinician_diff(review_rows(changed), latest_qr)
    not_taking = next(d for d in diffs if d.kind == "not-taking")
    assert not_taking.row.key == "rx-r2-new"
    assert not_taking.medicine == "Metformin 500 mg tablet"


def test_report_for_a_medicine_no_longer_listed_keeps_the_reported_name(latest_qr):
    remaining = [r for r in resources() if r["id"] != "r3"]
    diffs = clinician_diff(review_rows(remaining), latest_qr)
    differently = next(d for d in diffs if d.kind == "taking-differently")
    assert differently.row is None
    assert differently.medicine == "Amlodipine 5 MG Oral Tablet"


def test_other_questionnaires_are_refused():
    with pytest.raises(NotAMedicationReview):
        clinician_diff([], {"resourceType": "QuestionnaireResponse", "questionnaire": "http://example.org/Questionnaire/phq-9|1", "item": []})


def test_malformed_response_items_are_skipped_not_fatal():
    qr = {
        # Answers to the earlier version (before medication.why-other) are still medication reviews.
        "questionnaire": "http://smart-previsit.example.org/fhir/Questionnaire/medication-review|1.0.0",
        "item": [
            "junk",
            {"linkId": "medication", "item": "junk"},
            {"linkId": "medication", "item": [
                {"linkId": "medication.source", "answer": [{"valueReference": "MedicationRequest/r1"}]},
                {"linkId": "medication.code", "answer": [{"valueCoding": {"code": {"x": 1}}}]},
                {"linkId": "medication.name", "answer": [{"valueString": {"x": 1}}, {"valueString": "Lisinopril"}]},
                {"linkId": "medication.status", "answer": [{"valueCoding": "not-taking"}, {"valueCoding": {"code": "unsure"}}]},
            ]},
            {"linkId": "added-medication", "item": [{"linkId": "added-medication.name", "answer": [{"valueString": 5}]}]},
        ],
    }
    (diff,) = clinician_diff([], qr)
    assert (diff.kind, diff.medicine, diff.row) == ("not-sure", "Lisinopril", None)
