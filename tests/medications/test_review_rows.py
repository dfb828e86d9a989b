"""review_rows builds one plain-language row per medicine from a search result."""
import pytest

from smart_app.medications import UNKNOWN_MEDICINE, build_medication_list, past_rows, review_rows
from tests.medications.builders import RXNORM, SNOMED, medication, request, rx_concept, statement

LISINOPRIL = rx_concept("314076", "Lisinopril 10 MG Oral Tablet")


def cc(concept):
    """medication[x] as a codeable concept."""
    return {"medicationCodeableConcept": concept}


def ref(reference, display=None):
    """medication[x] as a reference."""
    out = {"reference": reference}
    if display:
        out["display"] = display
    return {"medicationReference": out}


def names(rows):
    return [r.name for r in rows]


def test_codeable_concept_gives_name_and_rxnorm_code():
    (row,) = review_rows([request("1", cc(LISINOPRIL))])
    assert row.name == "Lisinopril 10 MG Oral Tablet"
    assert (row.code.system, row.code.code) == (RXNORM, "314076")
    assert row.rxnorm == "314076"
    assert row.unresolved is False
    assert row.references == ("MedicationRequest/1",)


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [{"system": "urn:local", "code": "a", "display": "Local display"}], "text": "Text"}, "Local display"),
        ({"coding": [{"system": "urn:local", "code": "a"}], "text": "Aspirin low dose"}, "Aspirin low dose"),
        ({"coding": [{"system": "urn:local", "code": "a"}, {"system": RXNORM, "code": "243670", "display": "aspirin 81 MG Oral Tablet"}]},
         "aspirin 81 MG Oral Tablet"),
        ({"coding": [{"system": RXNORM, "code": "243670"}]}, UNKNOWN_MEDICINE),
    ],
    ids=["first coding display", "then code.text", "then RxNorm display", "nothing readable"],
)
def test_name_falls_back_from_display_to_text_to_rxnorm(concept, expected):
    (row,) = review_rows([request("1", cc(concept))])
    assert row.name == expected


def test_contained_medication_is_resolved():
    contained = {"resourceType": "Medication", "id": "m1", "code": rx_concept("197361", "Amlodipine 5 MG Oral Tablet")}
    (row,) = review_rows([request("1", ref("#m1"), contained=[contained])])
    assert row.name == "Amlodipine 5 MG Oral Tablet"
    assert row.rxnorm == "197361"
    assert not row.unresolved


def test_referenced_medication_is_resolved_from_included_resources():
    resources = [
        request("1", ref("Medication/med-9")),
        medication("med-9", rx_concept("860975", "Metformin 500 MG Oral Tablet")),
    ]
    (row,) = review_rows(resources)
    assert row.name == "Metformin 500 MG Oral Tablet"
    assert row.rxnorm == "860975"
    assert not row.unresolved


def test_absolute_medication_reference_is_resolved_from_included_resources():
    resources = [
        medication("med-9", rx_concept("860975", "Metformin 500 MG Oral Tablet")),
        request("1", ref("http://127.0.0.1:9090/fhir/Medication/med-9/_history/2")),
    ]
    (row,) = review_rows(resources)
    assert row.name == "Metformin 500 MG Oral Tablet"


def test_unresolved_reference_shows_its_display_and_is_flagged():
    (row,) = review_rows([request("1", ref("Medication/missing", "Warfarin 5 mg"))])
    assert row.name == "Warfarin 5 mg"
    assert row.unresolved is True
    assert row.code is None


def test_unresolved_reference_without_display_is_unknown_medicine():
    (row,) = review_rows([request("1", ref("Medication/missing"))])
    assert row.name == UNKNOWN_MEDICINE
    assert row.unresolved is True


def test_reference_to_non_medication_is_not_resolved_from_includes():
    resources = [request("1", ref("Substance/x")), {"resourceType": "Substance", "id": "x", "code": {"text": "Not a medicine"}}]
    (row,) = review_rows(resources)
    assert row.unresolved is True


@pytest.mark.parametrize(
    ("status", "intent", "where"),
    [
        ("active", "order", "current"),
        ("on-hold", "order", "current"),
        ("active", "plan", "current"),
        ("active", "proposal", None),
        ("active", "original-order", None),
        ("cancelled", "order", None),
        ("entered-in-error", "order", None),
        ("draft", "order", None),
        ("stopped", "order", "past"),
        ("completed", "order", "past"),
    ],
)
def test_requests_are_shown_by_status_and_intent(status, intent, where):
    lists = build_medication_list([request("1", cc(LISINOPRIL), status=status, intent=intent)])
    assert (len(lists.current), len(lists.past)) == {"current": (1, 0), "past": (0, 1), None: (0, 0)}[where]


def test_on_hold_request_says_so():
    (row,) = review_rows([request("1", cc(LISINOPRIL), status="on-hold")])
    assert row.status_note == "On hold"


@pytest.mark.parametrize(
    ("status", "where"),
    [
        ("active", "current"),
        ("intended", "current"),
        ("on-hold", "current"),
        ("unknown", "current"),
        ("not-taken", "past"),
        ("stopped", "past"),
        ("completed", "past"),
        ("entered-in-error", None),
    ],
)
def test_statements_are_shown_by_status(status, where):
    lists = build_medication_list([statement("s1", cc(LISINOPRIL), status=status)])
    assert (len(lists.current), len(lists.past)) == {"current": (1, 0), "past": (0, 1), None: (0, 0)}[where]


def test_past_rows_are_kept_apart_from_current_ones():
    resources = [
        request("1", cc(LISINOPRIL)),
        statement("s1", cc(rx_concept("310965", "Ibuprofen 200 MG Oral Tablet")), status="stopped"),
    ]
    assert names(review_rows(resources)) == ["Lisinopril 10 MG Oral Tablet"]
    (past,) = past_rows(resources)
    assert past.name == "Ibuprofen 200 MG Oral Tablet"
    assert past.status_note == "Stopped"
    assert past.is_current is False


@pytest.mark.parametrize(
    "reported",
    [{"reportedBoolean": True}, {"reportedReference": {"reference": "Patient/p1"}}],
    ids=["reportedBoolean", "reportedReference"],
)
def test_patient_reported_requests_are_shown_and_marked(reported):
    (row,) = review_rows([request("1", cc(LISINOPRIL), intent="plan", requester={"reference": "Patient/p1", "display": "Pat"}, **reported)])
    assert row.sources[0].reported is True
    assert row.sources[0].label == "Reported medicine"
    # A self-reported entry has no prescriber to show.
    assert row.prescriber is None


def test_context_prescriber_start_and_reason():
    (row,) = review_rows([
        request("1", cc(LISINOPRIL), authoredOn="2023-05-01T10:00:00Z",
                requester={"reference": "Practitioner/dr1", "display": "Dr. Ada Lovelace"},
                reasonCode=[{"coding": [{"system": SNOMED, "code": "38341003", "display": "Hypertension"}]}, {"text": "Kidney protection"}])
    ])
    assert row.prescriber == "Dr. Ada Lovelace"
    assert row.start == "2023-05-01"
    assert row.reason == "Hypertension, Kidney protection"


def test_prescriber_name_from_included_practitioner():
    resources = [
        request("1", cc(LISINOPRIL), requester={"reference": "Practitioner/dr1"}),
        {"resourceType": "Practitioner", "id": "dr1", "name": [{"prefix": ["Dr."], "given": ["Grace"], "family": "Hopper"}]},
    ]
    (row,) = review_rows(resources)
    assert row.prescriber == "Dr. Grace Hopper"


def test_statement_start_from_effective_period():
    (row,) = review_rows([statement("s1", cc(LISINOPRIL), effectivePeriod={"start": "2021-02-03"})])
    assert row.start == "2021-02-03"


def test_request_and_statement_with_same_rxnorm_merge_into_one_row_with_both_sources():
    resources = [
        statement("s1", cc(rx_concept("314076", "lisinopril 10 MG (patient list)")), dosage=[{"text": "one a day"}]),
        request("r1", cc(LISINOPRIL), dosageInstruction=[{"text": "1 tablet by mouth daily"}],
                requester={"display": "Dr. Who"}),
    ]
    (row,) = review_rows(resources)
    assert row.references == ("MedicationRequest/r1", "MedicationStatement/s1")
    # The prescription leads: its name, wording and key.
    assert row.name == "Lisinopril 10 MG Oral Tablet"
    assert row.dosage == "1 tablet by mouth daily"
    assert row.key == "rx-r1"
    assert [s.dosage for s in row.sources] == ["1 tablet by mouth daily", "one a day"]
    assert row.prescriber == "Dr. Who"


def test_active_request_merged_with_stopped_statement_stays_current():
    resources = [statement("s1", cc(LISINOPRIL), status="stopped"), request("r1", cc(LISINOPRIL))]
    lists = build_medication_list(resources)
    assert len(lists.current) == 1 and lists.past == []
    assert {s.status for s in lists.current[0].sources} == {"active", "stopped"}


def test_rows_without_rxnorm_are_not_merged():
    concept = {"coding": [{"system": "urn:local", "code": "x", "display": "Fish oil"}]}
    rows = review_rows([statement("s1", cc(concept)), statement("s2", cc(concept))])
    assert [r.key for r in rows] == ["st-s1", "st-s2"]


def test_paging_merged_list_with_repeated_entries_gives_one_row_each():
    page1 = [request("1", ref("Medication/m1")), medication("m1", LISINOPRIL), request("2", cc(rx_concept("197361", "Amlodipine 5 MG Oral Tablet")))]
    # The server's next page repeats an entry and the included Medication.
    page2 = [request("2", cc(rx_concept("197361", "Amlodipine 5 MG Oral Tablet"))), medication("m1", LISINOPRIL),
             statement("s9", cc(rx_concept("310965", "Ibuprofen 200 MG Oral Tablet"))),
             {"resourceType": "OperationOutcome", "id": "warn"}]
    rows = review_rows(page1 + page2)
    assert names(rows) == ["Amlodipine 5 MG Oral Tablet", "Ibuprofen 200 MG Oral Tablet", "Lisinopril 10 MG Oral Tablet"]


def test_row_keys_are_stable_and_safe_for_field_names():
    resources = [request("a.b", cc(LISINOPRIL)), statement("a_b", cc(rx_concept("1", "Other")))]
    rows = review_rows(resources)
    keys = sorted(r.key for r in rows)
    assert keys == ["rx-a_b", "st-a_b"]
    assert all("." not in k for k in keys)
    assert [r.key for r in review_rows(list(reversed(resources)))] == [r.key for r in rows]


def test_colliding_keys_get_a_suffix():
    rows = review_rows([request("a.b", cc(LISINOPRIL)), request("a_b", cc(rx_concept("1", "Other")))])
    assert sorted(r.key for r in rows) == ["rx-a_b", "rx-a_b-2"]


def test_dosage_is_plain_language_from_structure():
    (row,) = review_rows([
        request("1", cc(LISINOPRIL), dosageInstruction=[{
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
            "route": {"coding": [{"system": SNOMED, "code": "26643006"}]},
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        }])
    ])
    assert row.dosage == "1 tablet by mouth once a day"


@pytest.mark.parametrize(
    ("start", "expected"),
    [("2023-05-01T10:00:00Z", "1 May 2023"), ("2023-05", "May 2023"), ("2023", "2023"), ("2023-13-01", "2023-13-01"), (None, None)],
)
def test_start_date_in_plain_words(start, expected):
    extra = {"authoredOn": start} if start else {}
    (row,) = review_rows([request("1", cc(LISINOPRIL), **extra)])
    assert row.start_text == expected


@pytest.mark.parametrize(
    "broken",
    [
        {"resourceType": "MedicationRequest", "id": ["x"], "status": "active", "intent": "order"},
        {"resourceType": "MedicationRequest", "id": "b1", "status": ["active"], "intent": {"x": 1}},
        {"resourceType": "MedicationRequest", "id": "b2", "status": "active", "intent": "order",
         "medicationCodeableConcept": "aspirin", "medicationReference": ["#m"], "dosageInstruction": {"text": "x"},
         "requester": "Dr", "reasonCode": "pain", "authoredOn": 2020, "contained": "nope"},
        {"resourceType": "MedicationStatement", "id": "b3", "status": "active",
         "medicationCodeableConcept": {"coding": "RxNorm", "text": ["x"]}, "effectivePeriod": "2020",
         "dosage": [None, "x"], "reasonReference": [None, {"display": 3}]},
        {"resourceType": "MedicationRequest", "id": "b4", "status": "active", "intent": "order",
         "medicationCodeableConcept": {"coding": [None, {"system": RXNORM, "code": 314076, "display": None}]},
         "requester": {"reference": "Practitioner/p"}},
        {"resourceType": "Practitioner", "id": "p", "name": [{"given": [None, 3], "family": ["x"]}]},
        "not a resource",
        {"resourceType": None, "id": "z"},
    ],
)
def test_malformed_resources_never_crash_the_list(broken):
    lists = build_medication_list([broken, request("ok", cc(LISINOPRIL))])
    assert "Lisinopril 10 MG Oral Tablet" in [r.name for r in lists.current]
    assert all(isinstance(r.name, str) and r.name for r in lists.current)
