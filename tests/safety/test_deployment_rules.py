"""Rules a deployment adds: FHIRPath conditions, answer codes, version ranges; and the shipped codes match our forms."""
from __future__ import annotations

from pathlib import Path

import pytest

from smart_app.safety import load_safety, shipped_rules
from smart_app.safety.rules import parse_rules
from tests.safety.responses import fired_ids, intake, library_form, phq9_library

INTAKE_URL = "http://smart-previsit.example.org/fhir/Questionnaire/previsit-intake"


def rules(*entries: dict):
    """Parse rules written as a deployment would in launch.json."""
    return parse_rules(list(entries), "launch.json", "safety.rules")


def rule(**fields) -> dict:
    """A rule with defaults for the fields a test does not care about."""
    return {"id": "local", "title": "Local rule", "severity": "high", "patient_message": "none",
            "questionnaire": {"url": INTAKE_URL}, "source": "Clinic protocol", **fields}


@pytest.mark.parametrize("diastolic, fires", [(100, True), (99, False)])
def test_a_fhirpath_condition_over_the_response_fires_when_true(diastolic, fires):
    expression = "QuestionnaireResponse.repeat(item).where(linkId = 'bp-diastolic').answer.value >= 100"
    local = rules(rule(any=[{"fhirpath": expression}]))
    assert ("local" in fired_ids(library_form("previsit-intake"), intake(130, diastolic), local)) is fires


@pytest.mark.parametrize("version, fires", [(">=1.0.0 <2", True), (">=2", False), ("=1.0", True)])
def test_a_version_range_limits_which_versions_a_rule_reads(version, fires):
    local = rules(rule(questionnaire={"url": INTAKE_URL, "version": version},
                       any=[{"item": {"linkId": "bp-systolic"}, "value": {">": 150}}]))
    assert ("local" in fired_ids(library_form("previsit-intake"), intake(160, 80), local)) is fires


@pytest.mark.parametrize("q1, fires", [(2, True), (1, False)])
def test_an_answer_code_condition_fires_on_the_listed_codes(q1, fires):
    local = rules(rule(questionnaire={"code": "http://loinc.org|44249-1"},
                       any=[{"item": {"code": "44250-9"}, "answer_code": ["LA6570-1", "LA6571-9"]}]))
    assert ("local" in fired_ids(library_form("phq-9"), phq9_library([q1] + [0] * 8), local)) is fires


def test_switching_the_phq9_rule_off_in_launch_json_stops_it_firing():
    settings = load_safety({"safety": {"disable": ["phq9-item9-self-harm"]}}, "launch.json", Path("."))
    assert fired_ids(library_form("phq-9"), phq9_library([0] * 8 + [3]), settings.rules) == set()


def test_shipped_item_codes_are_the_codes_our_forms_carry():
    by_form = {name: {f"{c.get('system')}|{c.get('code')}": i.link_id
                      for i in library_form(name).walk() for c in i.code}
               for name in ("phq-9", "gad-7", "previsit-intake")}
    expected = {"phq9-item9-self-harm": ("phq-9", "http://loinc.org|44260-8", "phq9-q9"),
                "phq9-total-severe": ("phq-9", "http://loinc.org|44261-6", "phq9-total"),
                "gad7-total-severe": ("gad-7", "http://loinc.org|70274-6", "gad7-total"),
                "bp-hypertensive-crisis": ("previsit-intake", "http://loinc.org|8480-6", "bp-systolic")}
    for shipped in shipped_rules().rules:
        form, code, link_id = expected[shipped.id]
        assert by_form[form][code] == link_id
        assert shipped.tests[0].item.code == code and shipped.tests[0].item.link_id == link_id
    assert by_form["previsit-intake"]["http://loinc.org|8462-4"] == "bp-diastolic"
