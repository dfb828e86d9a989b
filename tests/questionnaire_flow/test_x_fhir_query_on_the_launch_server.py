"""An x-fhir-query in a form runs on the launch's own FHIR server, through the launch's client and token,
bounded to the launch's patient; its result feeds the form's expressions."""
from __future__ import annotations

from smart_app.forms.catalog import clear_form_cache
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
FORM = {"resourceType": "Questionnaire", "id": "weight-from-record", "status": "active", "title": "Weight check",
        "item": [{"linkId": "weight", "type": "decimal", "text": "Weight (kg)", "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/variable", "valueExpression": {
                "name": "weights", "language": "application/x-fhir-query",
                "expression": "Observation?code=http://loinc.org|29463-7&_sort=-date&_count=1"}},
            {"url": SDC + "sdc-questionnaire-initialExpression", "valueExpression": {
                "language": "text/fhirpath", "expression": "%weights.entry.resource.valueQuantity.value.first()"}}]}]}


def test_an_item_variable_query_prefills_from_the_patients_own_latest_observation(e2e) -> None:
    e2e.sandbox.store.create(dict(FORM))
    clear_form_cache()
    mine = [o for o in e2e.sandbox.resources("Observation")
            if o["subject"]["reference"] == f"Patient/{PATIENT}" and o["code"]["coding"][0]["code"] == "29463-7"]
    latest = max(mine, key=lambda o: o["effectiveDateTime"])["valueQuantity"]["value"]
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/weight-from-record"))
    page = browser.open_form("weight-from-record").get_data(as_text=True)
    assert 'name="q.weight.r"' in page and f'value="{latest}"' in page
    assert "From your record" in page
