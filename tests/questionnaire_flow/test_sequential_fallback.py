"""An EHR without transactions gets ordered conditional creates, resolved references and a receipt."""
from __future__ import annotations

import json

import pytest
from werkzeug import Request, Response

from smart_app.ehr import client as fhir
from tests.fixtures.fake_ehr import token_response
from tests.questionnaire_flow.flow import SYSTEM, Browser, phq9_answers

# Create but not read QuestionnaireResponse: drafts stay in the app, so only the submission writes.
SCOPE = ("launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.c "
         "patient/Observation.c patient/Provenance.c")
CAPABILITIES = {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
                "format": ["json"], "rest": [{"mode": "server", "resource": [
                    {"type": t, "interaction": [{"code": "create"}], "conditionalCreate": True}
                    for t in ("QuestionnaireResponse", "Observation", "Provenance")]}]}


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    """The capability cache is per base URL; the fake EHR's URL is shared across tests."""
    fhir.clear_capabilities_cache()
    yield
    fhir.clear_capabilities_cache()


def test_without_transaction_support_each_resource_is_a_conditional_create_in_order(client, launcher, fake_ehr):
    created: list[tuple[str, str | None, dict]] = []

    def create(request: Request) -> Response:
        """Store the posted resource under the next id and answer 201 with its Location."""
        resource = json.loads(request.get_data())
        resource["id"] = str(len(created) + 1)
        created.append((resource["resourceType"], request.headers.get("If-None-Exist"), resource))
        location = f"{fake_ehr.base}/{resource['resourceType']}/{resource['id']}/_history/1"
        return Response(json.dumps(resource), status=201, headers={"Location": location},
                        content_type="application/fhir+json")

    fake_ehr.server.expect_request("/fhir/metadata").respond_with_json(CAPABILITIES)
    for type_ in ("QuestionnaireResponse", "Observation", "Provenance"):
        fake_ehr.respond_with(f"/fhir/{type_}", create, method="POST")
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=SCOPE))
    launcher.serve_patient("p1")
    browser = Browser(client, handle)
    sid = browser.fill_and_send("phq-9", phq9_answers([1, 1, 1, 1, 1, 1, 1, 1, 1]))

    assert [(t, cond.split("=", 1)[0]) for t, cond, _ in created] == [
        ("QuestionnaireResponse", "identifier"), ("Observation", "identifier"), ("Provenance", "_tag")]
    qr, total, provenance = (r for _, _, r in created)
    assert qr["identifier"] == {"system": SYSTEM, "value": sid} and qr["subject"] == {"reference": "Patient/p1"}
    assert total["derivedFrom"] == [{"reference": "QuestionnaireResponse/1"}]
    assert total["valueQuantity"]["value"] == 9
    assert provenance["target"] == [{"reference": "QuestionnaireResponse/1"}, {"reference": "Observation/2"}]
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Saved to the chart" in page and "Observation <code>2</code>" in page
