"""Prefill still works when the patient has more matching Observations than one page holds.

A frequent measurement (60 weights, newer) must not hide a rarer one (one older height): each
code the first page did not cover gets its own newest-first search.
"""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser

LINK_PERIOD = {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationLinkPeriod",
               "valueDuration": {"value": 5, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}}
MEASURES = {
    "resourceType": "Questionnaire", "id": "measures", "status": "active",
    "url": "http://example.org/fhir/Questionnaire/measures", "version": "1", "title": "Measures",
    "item": [
        {"linkId": "weight", "type": "decimal", "text": "Weight (kg)", "extension": [LINK_PERIOD],
         "code": [{"system": "http://loinc.org", "code": "29463-7"}]},
        {"linkId": "height", "type": "decimal", "text": "Height (cm)", "extension": [LINK_PERIOD],
         "code": [{"system": "http://loinc.org", "code": "8302-2"}]},
    ],
}


def observation(rid: str, code: str, unit: str, value: float, when: str) -> dict:
    """A final vital-sign Observation of the patient."""
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": f"Patient/{PATIENT}"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def test_a_rare_code_is_prefilled_even_when_a_frequent_one_fills_the_first_page(e2e):
    e2e.sandbox.store.create(dict(MEASURES))
    for resource in e2e.sandbox.resources("Observation"):
        codes = {c.get("code") for c in resource.get("code", {}).get("coding", [])}
        if codes & {"29463-7", "8302-2"} and resource.get("subject", {}).get("reference") == f"Patient/{PATIENT}":
            e2e.sandbox.store.delete("Observation", resource["id"])
    e2e.sandbox.store.create(observation("old-height", "8302-2", "cm", 171.5, "2025-06-01T09:00:00Z"))
    for day in range(1, 61):
        e2e.sandbox.store.create(observation(f"w-{day}", "29463-7", "kg", 70 + day / 10, f"2026-0{1 + day // 31}-{1 + day % 28:02d}T09:00:00Z"))
    newest_weight = max((r for r in e2e.sandbox.resources("Observation") if r["id"].startswith("w-")),
                        key=lambda r: r["effectiveDateTime"])["valueQuantity"]["value"]
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/measures"))
    html = browser.open_form("measures").get_data(as_text=True)
    assert f'value="{newest_weight}"' in html
    assert 'value="171.5"' in html
