"""The sandbox's seeded medication data, through the whole pure review path (no HTTP).

The search result is emulated as the FHIR server would answer
``MedicationRequest?patient=X&_include=MedicationRequest:medication&_include=MedicationRequest:requester``
plus ``MedicationStatement?patient=X``.
"""
import re
from datetime import date

import pytest

from sandbox.seed import build_resources
from smart_app.medications import (
    ReviewMeta,
    adherence_observations,
    build_medication_list,
    clinician_diff,
    parse_review,
    to_questionnaire_response,
)

TODAY = date(2026, 3, 15)


@pytest.fixture(scope="module")
def seeded():
    return build_resources(TODAY)


def search_result(seeded, patient_id):
    """What the two searches return for one patient, pages already merged."""
    own = [r for r in seeded if r["resourceType"] in ("MedicationRequest", "MedicationStatement")
           and r["subject"]["reference"] == f"Patient/{patient_id}"]
    included = [r for r in seeded if r["resourceType"] in ("Medication", "Practitioner")]
    return own + included


def test_ana_has_a_long_list_with_every_medication_form(seeded):
    lists = build_medication_list(search_result(seeded, "pat-ana"))
    assert len(lists.current) == 9
    assert not [r for r in lists.current if r.unresolved]
    by_name = {r.name: r for r in lists.current}
    # Referenced Medication (metformin), contained (amlodipine), codeable concept (lisinopril).
    assert by_name["metformin hydrochloride 500 MG Oral Tablet"].dosage == "1 tablet by mouth twice a day with breakfast"
    assert by_name["amlodipine 5 MG Oral Tablet"].rxnorm
    assert by_name["gabapentin 300 MG Oral Capsule"].status_note == "On hold"
    # The prescriber comes from the included Practitioner; self-reported aspirin has none.
    assert by_name["lisinopril 10 MG Oral Tablet"].prescriber
    assert by_name["aspirin 81 MG Oral Tablet"].prescriber is None
    # Her stopped ibuprofen statement merges with the reported ibuprofen request; the
    # entered-in-error warfarin statement is gone.
    ibuprofen = by_name["ibuprofen 200 MG Oral Tablet"]
    assert ibuprofen.references == ("MedicationRequest/mr-ana-9", "MedicationStatement/ms-ana-1")
    assert "warfarin" not in " ".join(by_name).lower()


def test_not_taken_and_completed_statements_are_past(seeded):
    assert [(r.name, r.status_note) for r in build_medication_list(search_result(seeded, "pat-ben")).past] == [
        ("amlodipine 5 MG Oral Tablet", "Not taken")]
    assert [(r.name, r.status_note) for r in build_medication_list(search_result(seeded, "pat-eli")).past] == [
        ("ibuprofen 200 MG Oral Tablet", "Finished")]


def test_every_seeded_dosage_reads_without_raw_codes(seeded):
    for patient in ("pat-ana", "pat-ben", "pat-chloe", "pat-dev", "pat-eli", "pat-fatima", "pat-sam"):
        for row in build_medication_list(search_result(seeded, patient)).current:
            assert row.dosage, row.name
            assert not re.search(r"\b(TAB|CAP|PUFF|HS|BID|26643006)\b|[{}\[\]]", row.dosage), row.dosage


def test_acceptance_review_round_trip(seeded):
    """Ana reviews 9 medicines: metformin not taken (side effects), amlodipine differently, adds an OTC medicine."""
    rows = build_medication_list(search_result(seeded, "pat-ana")).current
    form = {f"med.{r.key}.status": "taking" for r in rows}
    form.update({
        "med.rx-mr-ana-2.status": "not-taking", "med.rx-mr-ana-2.why": "side-effects", "med.rx-mr-ana-2.side_effects": "Nausea",
        "med.rx-mr-ana-6.status": "different", "med.rx-mr-ana-6.how": "Only every other day",
        "add.0.name": "Omeprazole", "add.0.dose": "20 mg", "add.0.often": "Once a day",
    })
    review, errors = parse_review(rows, form, today=TODAY)
    assert errors == {}
    meta = ReviewMeta(subject="Patient/pat-ana", authored="2026-03-15T09:30:00Z", author="Patient/pat-ana",
                      response_ref="urn:uuid:00000000-0000-4000-8000-000000000001")
    qr = to_questionnaire_response(review, meta)
    observations = adherence_observations(review, meta)
    assert [i["linkId"] for i in qr["item"]].count("medication") == 9
    assert [i["linkId"] for i in qr["item"]].count("added-medication") == 1
    assert len(observations) == 9
    codes = sorted(o["valueCodeableConcept"]["coding"][0]["code"] for o in observations)
    assert codes == sorted(["1156699004"] * 7 + ["715036001", "702565001"])
    diffs = clinician_diff(rows, qr)
    assert [(d.kind, d.medicine) for d in diffs] == [
        ("not-taking", "metformin hydrochloride 500 MG Oral Tablet"),
        ("taking-differently", "amlodipine 5 MG Oral Tablet"),
        ("new-medicine", "Omeprazole"),
    ]
