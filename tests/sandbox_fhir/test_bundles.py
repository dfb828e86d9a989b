"""Transaction (atomic, urn:uuid rewriting, ifNoneExist) and batch (status per entry) Bundles."""
from __future__ import annotations

import copy
import uuid

from tests.sandbox_fhir.conftest import QUESTIONNAIRE_URL, auth

ANA = auth("ana-all")


def _urn() -> str:
    """A fresh urn:uuid."""
    return f"urn:uuid:{uuid.uuid4()}"


def writeback_bundle(qr_urn: str, obs_urn: str, *, with_if_none_exist: bool = True) -> dict:
    """A QR + Observation + Provenance transaction like the app's write-back."""
    qr_request = {"method": "POST", "url": "QuestionnaireResponse"}
    obs_request = {"method": "POST", "url": "Observation"}
    if with_if_none_exist:
        qr_request["ifNoneExist"] = "identifier=urn:previsit:submission|sub-1"
        obs_request["ifNoneExist"] = "identifier=urn:previsit:submission|sub-1-obs"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": qr_urn, "request": qr_request, "resource": {
            "resourceType": "QuestionnaireResponse", "status": "completed",
            "identifier": {"system": "urn:previsit:submission", "value": "sub-1"},
            "questionnaire": f"{QUESTIONNAIRE_URL}|2.0.0", "subject": {"reference": "Patient/pat-ana"},
            "authored": "2026-01-15T10:00:00Z",
            "item": [{"linkId": "q1", "answer": [{"valueInteger": 2}]}]}},
        {"fullUrl": obs_urn, "request": obs_request, "resource": {
            "resourceType": "Observation", "status": "final", "code": {"text": "PHQ-2 score"},
            "identifier": [{"system": "urn:previsit:submission", "value": "sub-1-obs"}],
            "subject": {"reference": "Patient/pat-ana"}, "valueInteger": 2,
            "derivedFrom": [{"reference": qr_urn}]}},
        {"fullUrl": _urn(), "request": {"method": "POST", "url": "Provenance"}, "resource": {
            "resourceType": "Provenance", "recorded": "2026-01-15T10:00:00Z",
            "target": [{"reference": qr_urn}, {"reference": obs_urn}],
            "agent": [{"who": {"reference": "Patient/pat-ana"}}]}},
    ]}


def test_transaction_rewrites_urn_uuid_references_everywhere(client, store):
    qr_urn, obs_urn = _urn(), _urn()
    response = client.post("/fhir", json=writeback_bundle(qr_urn, obs_urn), headers=ANA)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created"] * 3
    qr_loc, obs_loc, prov_loc = (e["response"]["location"] for e in body["entry"])
    qr_ref = "/".join(qr_loc.split("/")[:2])
    obs_ref = "/".join(obs_loc.split("/")[:2])
    obs = store.read(*obs_ref.split("/"))
    provenance = store.read(*prov_loc.split("/")[:2])
    assert obs["derivedFrom"] == [{"reference": qr_ref}]
    assert [t["reference"] for t in provenance["target"]] == [qr_ref, obs_ref]
    assert all(e["response"]["etag"] == 'W/"1"' for e in body["entry"])
    assert "urn:uuid" not in str(store.all("Provenance")) + str(store.all("Observation"))


def test_transaction_with_if_none_exist_is_idempotent(client, store):
    first = client.post("/fhir", json=writeback_bundle(_urn(), _urn()), headers=ANA).get_json()
    counts = {t: store.count(t) for t in ("QuestionnaireResponse", "Observation")}
    # A retry after a lost response uses fresh urn:uuids; references must resolve to the existing resources.
    second = client.post("/fhir", json=writeback_bundle(_urn(), _urn()), headers=ANA).get_json()
    assert [e["response"]["status"] for e in second["entry"]][:2] == ["200 OK", "200 OK"]
    assert {t: store.count(t) for t in counts} == counts
    first_qr = first["entry"][0]["response"]["location"].split("/_history")[0]
    second_prov = store.read(*second["entry"][2]["response"]["location"].split("/")[:2])
    assert second_prov["target"][0]["reference"] == first_qr


def test_transaction_is_all_or_nothing(client, store):
    bundle = writeback_bundle(_urn(), _urn(), with_if_none_exist=False)
    del bundle["entry"][1]["resource"]["status"]  # the Observation is invalid
    before = {t: store.count(t) for t in ("QuestionnaireResponse", "Observation", "Provenance")}
    response = client.post("/fhir", json=bundle, headers=ANA)
    assert response.status_code == 400
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Bundle.entry[1].resource.status" in outcome["issue"][0]["expression"]
    assert {t: store.count(t) for t in before} == before


def test_transaction_touching_another_patient_is_403_and_rolls_back(client, store):
    bundle = writeback_bundle(_urn(), _urn(), with_if_none_exist=False)
    bundle["entry"][1]["resource"]["subject"] = {"reference": "Patient/pat-ben"}
    before = store.count("QuestionnaireResponse")
    assert client.post("/fhir", json=bundle, headers=ANA).status_code == 403
    assert store.count("QuestionnaireResponse") == before


def test_transaction_update_with_stale_if_match_rolls_back_the_creates(client, store):
    obs = store.read("Observation", "obs-ana-weight-1")
    bundle = writeback_bundle(_urn(), _urn(), with_if_none_exist=False)
    bundle["entry"].append({"request": {"method": "PUT", "url": "Observation/obs-ana-weight-1", "ifMatch": 'W/"7"'},
                            "resource": obs})
    before = store.count("QuestionnaireResponse")
    assert client.post("/fhir", json=bundle, headers=ANA).status_code == 412
    assert store.count("QuestionnaireResponse") == before


def test_transaction_put_and_delete_and_get(client, store):
    obs = copy.deepcopy(store.read("Observation", "obs-ana-weight-2"))
    obs["valueQuantity"]["value"] = 68.0
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "PUT", "url": "Observation/obs-ana-weight-2", "ifMatch": 'W/"1"'}, "resource": obs},
        {"request": {"method": "DELETE", "url": "Observation/obs-ana-height-1"}},
        {"request": {"method": "GET", "url": "Patient/pat-ana"}},
    ]}
    body = client.post("/fhir", json=bundle, headers={**ANA, "Prefer": "return=minimal"}).get_json()
    assert [e["response"]["status"] for e in body["entry"]] == ["200 OK", "204 No Content", "200 OK"]
    assert "resource" not in body["entry"][0]
    assert store.read("Observation", "obs-ana-weight-2")["valueQuantity"]["value"] == 68.0
    assert not store.exists("Observation", "obs-ana-height-1")


def test_batch_reports_a_status_per_entry(client, store):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/pat-ana"}},
        {"request": {"method": "GET", "url": "Patient/pat-ben"}},
        {"request": {"method": "GET", "url": "MedicationRequest?patient=pat-ana&status=active&_count=3"}},
        {"request": {"method": "POST", "url": "Observation"}, "resource": {"resourceType": "Observation",
                                                                           "subject": {"reference": "Patient/pat-ana"}}},
        {"request": {"method": "GET", "url": f"http://localhost/fhir/Questionnaire?url={QUESTIONNAIRE_URL}"}},
    ]}
    response = client.post("/fhir", json=bundle, headers=ANA)
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["200 OK", "403 Forbidden", "200 OK", "400 Bad Request", "200 OK"]
    assert body["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert body["entry"][2]["resource"]["total"] == 8
    assert body["entry"][4]["resource"]["entry"][0]["resource"]["id"] == "phq-2"


def test_bundle_shape_errors_are_400(client):
    for bundle in ({"resourceType": "Bundle", "type": "collection"},
                   {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {}}]},
                   {"resourceType": "Patient"}):
        response = client.post("/fhir", json=bundle, headers=ANA)
        assert response.status_code == 400
        assert response.get_json()["resourceType"] == "OperationOutcome"


def test_tagged_provenance_with_tag_if_none_exist_is_not_duplicated(client, store):
    def bundle() -> dict:
        """A Provenance posted conditionally on its meta.tag, as the app's write-back does."""
        return {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": _urn(), "request": {"method": "POST", "url": "Provenance",
                                            "ifNoneExist": "_tag=urn:previsit:submission|sub-7"},
             "resource": {"resourceType": "Provenance", "recorded": "2026-01-15T10:00:00Z",
                          "meta": {"tag": [{"system": "urn:previsit:submission", "code": "sub-7"}],
                                   "versionId": "99", "lastUpdated": "2000-01-01T00:00:00Z"},
                          "target": [{"reference": "Patient/pat-ana"}],
                          "agent": [{"who": {"reference": "Patient/pat-ana"}}]}}]}
    first = client.post("/fhir", json=bundle(), headers=ANA).get_json()
    second = client.post("/fhir", json=bundle(), headers=ANA).get_json()
    assert [first["entry"][0]["response"]["status"], second["entry"][0]["response"]["status"]] == ["201 Created", "200 OK"]
    stored = store.all("Provenance")
    assert len(stored) == 1 and stored[0]["meta"]["versionId"] == "1"
    assert stored[0]["meta"]["tag"][0]["code"] == "sub-7"
