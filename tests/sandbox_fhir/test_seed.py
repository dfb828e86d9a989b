"""The synthetic data set: deterministic, complete enough for the app, valid, and restorable with --reset."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from sandbox import seed as seed_module
from sandbox.fhir.store import FhirStore
from sandbox.fhir.validate import resource_issues
from tests.sandbox_fhir.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(store: FhirStore) -> dict:
    """Every resource in the store, keyed by type/id."""
    return {f"{t}/{r['id']}": r for t in store.types() for r in store.all(t)}


def test_two_seeds_are_identical(tmp_path, questionnaire_dir):
    one, two = FhirStore(tmp_path / "a.db"), FhirStore(tmp_path / "b.db")
    seed_module.seed(one, questionnaire_dir=questionnaire_dir, today=TODAY)
    seed_module.seed(two, questionnaire_dir=questionnaire_dir, today=TODAY)
    assert _snapshot(one) == _snapshot(two)
    assert len(_snapshot(one)) > 100


def test_dates_follow_today_so_the_visit_is_upcoming(tmp_path):
    store = FhirStore(tmp_path / "x.db")
    seed_module.seed(store, questionnaire_dir=tmp_path, today=date(2030, 6, 1))
    assert store.read("Encounter", "enc-ben-visit")["period"]["start"].startswith("2030-06-04")
    assert store.read("Encounter", "enc-ana-visit")["status"] == "in-progress"
    assert store.read("Patient", "pat-eli")["birthDate"].startswith("2022")


def test_every_seeded_resource_passes_validation(store):
    problems = {key: resource_issues(r, store.exists) for key, r in _snapshot(store).items()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_patients_are_varied_with_mrns_and_a_child_with_a_parent(store):
    patients = store.all("Patient")
    assert len(patients) >= 6
    assert {p["gender"] for p in patients} >= {"female", "male", "other"}
    for patient in patients:
        mrn = patient["identifier"][0]
        assert mrn["type"]["coding"][0]["code"] == "MR" and mrn["value"].startswith("MRN-")
    parent = store.read("RelatedPerson", seed_module.PARENT_ID)
    assert parent["patient"]["reference"] == f"Patient/{seed_module.CHILD_ID}"
    child_birth = int(store.read("Patient", seed_module.CHILD_ID)["birthDate"][:4])
    assert TODAY.year - child_birth < 18


def test_every_patient_has_visits_and_medications(store):
    for pid in seed_module.PATIENT_IDS:
        encounters = store.search("Encounter", {"patient": pid})[0]
        assert 1 <= len(encounters) <= 2
        assert any(e["status"] in ("planned", "in-progress") for e in encounters)
        assert store.count("Appointment", patient=pid) >= 1
        assert 2 <= store.count("MedicationRequest", patient=pid, status="active") <= 8
        assert store.count("Observation", patient=pid, code="http://loinc.org|85354-9") >= 1


def test_medication_requests_mix_the_three_medication_forms_and_dosage_styles(store):
    requests = store.all("MedicationRequest")
    forms = Counter("contained" if r.get("contained") else
                    "reference" if "medicationReference" in r else "concept" for r in requests)
    assert min(forms.values()) >= 3 and len(forms) == 3
    assert any(r.get("reportedBoolean") for r in requests)
    assert any(r["status"] == "on-hold" for r in requests)
    dosages = [d for r in requests for d in r["dosageInstruction"]]
    assert any("timing" not in d and "text" in d for d in dosages)
    assert any("text" not in d and "doseAndRate" in d and "route" in d for d in dosages)
    assert any("asNeededCodeableConcept" in d or d.get("asNeededBoolean") for d in dosages)
    codes = {c["system"] for r in requests if "medicationCodeableConcept" in r
             for c in r["medicationCodeableConcept"]["coding"]}
    assert codes == {"http://www.nlm.nih.gov/research/umls/rxnorm"}


def test_first_patient_needs_paging_at_five(store):
    assert store.count("MedicationRequest", patient="pat-ana") > 5


def test_medication_statements_cover_the_awkward_statuses(store):
    statuses = {s["status"] for s in store.all("MedicationStatement")}
    assert {"entered-in-error", "stopped", "not-taken"} <= statuses


def test_vitals_over_time(store):
    weights = store.search("Observation", {"patient": "pat-dev", "code": "http://loinc.org|29463-7"})[0]
    assert len({w["effectiveDateTime"] for w in weights}) == 3
    bp = store.read("Observation", "obs-dev-bp-1")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert store.count("Observation", patient="pat-ana", code="8302-2") == 3


def test_people_name_resources_that_exist(store):
    for login in seed_module.PEOPLE:
        type_, id_ = login.fhir_user.split("/")
        assert store.exists(type_, id_), login
        if login.patient:
            assert store.exists("Patient", login.patient)
    assert seed_module.DEFAULT_CLINICIAN in {p.fhir_user for p in seed_module.PEOPLE if p.role == "clinician"}
    assert store.exists("Organization", "org-riverside")


def test_questionnaires_are_seeded_from_the_folder_and_broken_files_skipped(tmp_path, questionnaire_dir):
    store = FhirStore(tmp_path / "q.db")
    summary = seed_module.seed(store, questionnaire_dir=questionnaire_dir, today=TODAY)
    clinic = {q["id"] for q in seed_module.clinic_questionnaires()}  # the clinic's own forms, not from the folder
    assert [q["id"] for q in store.all("Questionnaire") if q["id"] not in clinic] == ["phq-2"]
    assert summary.skipped == ["broken.json"]
    assert summary.counts["Patient"] == len(seed_module.PATIENT_IDS)


def test_default_questionnaire_folder_is_the_apps_library():
    folder = seed_module.default_questionnaire_dir()
    assert folder == ROOT / "smart_app" / "forms" / "library"


def _cli(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m sandbox.seed` with arguments."""
    return subprocess.run([sys.executable, "-m", "sandbox.seed", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cli_reset_restores_the_seed(tmp_path, questionnaire_dir):
    db = tmp_path / "cli.db"
    common = ("--db", str(db), "--today", TODAY.isoformat(), "--questionnaires", str(questionnaire_dir))
    assert _cli(*common, "--reset").returncode == 0
    store = FhirStore(db)
    original = _snapshot(store)
    store.delete("Patient", "pat-sam")
    store.create({"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    refused = _cli(*common)
    assert refused.returncode == 2 and "--reset" in refused.stderr
    restored = _cli(*common, "--reset")
    assert restored.returncode == 0 and "Patient 7" in restored.stdout
    assert _snapshot(store) == original
    store.close()
