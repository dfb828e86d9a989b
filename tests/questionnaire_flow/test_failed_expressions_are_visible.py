"""An expression that fails is visible: the clinician reads "could not be calculated", the patient a
neutral note, the audit names the linkId, and a required hidden item it should have filled never
blocks sending (the response records it as absent)."""
from __future__ import annotations

import json
import logging

from smart_app.forms.catalog import clear_form_cache
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, stored

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
BROKEN = {"resourceType": "Questionnaire", "id": "broken-calc", "status": "active", "title": "Broken calculation",
          "item": [
              {"linkId": "weight", "type": "decimal", "text": "Weight (kg)"},
              {"linkId": "score", "type": "decimal", "text": "Risk score", "readOnly": True, "extension": [
                  {"url": SDC + "sdc-questionnaire-calculatedExpression",
                   "valueExpression": {"language": "text/fhirpath", "expression": "%weight.nosuchfunction()"}}]},
              {"linkId": "pid", "type": "string", "text": "Patient id", "required": True, "extension": [
                  {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden", "valueBoolean": True},
                  {"url": SDC + "sdc-questionnaire-calculatedExpression",
                   "valueExpression": {"language": "text/fhirpath", "expression": "%Patient.identifier.nosuch()"}}]}]}


def test_a_failing_expression_is_shown_audited_and_never_blocks_sending(e2e, caplog) -> None:
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    e2e.sandbox.store.create(dict(BROKEN))
    clear_form_cache()
    clinician = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/broken-calc"))
    page = clinician.open_form("broken-calc").get_data(as_text=True)
    assert "could not be calculated" in page
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "smart_app.audit.events"]
    assert {e.get("link_id") for e in events if e["event"] == "form.expression_failed"} >= {"score", "pid"}
    assert clinician.post_form("broken-calc", {"q.weight.r": "70"}).status_code == 303
    review, _ = clinician.review("broken-calc")
    assert "Patient id" in review and "sent marked as missing" in review
    sid = clinician.fill_and_send("broken-calc", {"q.weight.r": "70"})
    [qr] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    [pid] = [i for i in qr["item"] if i["linkId"] == "pid"]
    assert "answer" not in pid and pid["extension"][0]["valueCode"] == "unknown"
