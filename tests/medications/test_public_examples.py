"""Rows from published US Core MedicationRequest and FHIR R4 MedicationStatement examples."""
from smart_app.medications import build_medication_list, review_rows
from tests.medications.builders import load


def test_us_core_contained_oral_axid():
    (row,) = review_rows([load("uscore-medicationrequest-contained-oral-axid.json")])
    assert row.name == "Nizatidine 15 MG/ML Oral Solution [Axid]"
    assert row.rxnorm == "582620"
    assert row.dosage == "10 mL bid"
    assert row.prescriber == "Ronald Bone, MD"
    assert row.start == "2008-04-05"
    assert row.reason == "Active Duodenal Ulcer"
    assert row.sources[0].label == "Prescription"


def test_us_core_mo1_and_contained_axid_are_the_same_medicine():
    rows = review_rows([load("uscore-medicationrequest-uscore-mo1.json"), load("uscore-medicationrequest-contained-oral-axid.json")])
    assert len(rows) == 1
    assert set(rows[0].references) == {"MedicationRequest/uscore-mo1", "MedicationRequest/medicationrequest-contained-oral-axid"}


def test_us_core_self_reported_tylenol_plan():
    (row,) = review_rows([load("uscore-medicationrequest-self-tylenol.json")])
    assert row.name == "Tylenol PM Pill"
    assert row.rxnorm == "1187314"
    assert row.sources[0].reported is True
    assert row.prescriber is None
    assert row.dosage == ""


def test_r4_medicationrequest_medrx0310_contained_ndc():
    (row,) = review_rows([load("r4-medicationrequest-medrx0310.json")])
    assert row.name == "Tylenol PM"
    assert row.code.code == "50580-608-02"
    assert row.rxnorm is None
    assert row.prescriber == "Patrick Pump"
    assert row.dosage == "Take 1-2 tablets once daily at bedtime as needed for restless legs"


def test_r4_medicationstatement_examples():
    lists = build_medication_list([load("r4-medicationstatement-example001.json"), load("r4-medicationstatement-example002.json")])
    assert [r.name for r in lists.current] == ["Tylenol PM", "Tylenol PM"]
    first = next(r for r in lists.current if r.key == "st-example001")
    assert first.reason == "Restless Legs"
    assert first.start == "2015-01-23"
    assert first.dosage == "1-2 tablets once daily at bedtime as needed for restless legs"
    assert first.sources[0].label == "Your medication list"
    # NDC-coded medicines are not merged: only RxNorm decides that two records are one medicine.
    assert lists.past == []
