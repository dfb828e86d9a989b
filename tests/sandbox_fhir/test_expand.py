"""ValueSet/$expand: the sandbox expands the value sets it holds, like a terminology-capable EHR."""
from __future__ import annotations

from tests.sandbox_fhir.conftest import auth

RELATIONSHIP = "http://hl7.org/fhir/ValueSet/patient-contactrelationship"


def test_capability_statement_declares_expand_on_value_sets(client):
    statement = client.get("/fhir/metadata").get_json()
    [value_set] = [r for r in statement["rest"][0]["resource"] if r["type"] == "ValueSet"]
    assert value_set["operation"] == [{"name": "expand",
                                       "definition": "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"}]


def test_a_seeded_value_set_expands_from_its_listed_codes(client):
    response = client.get("/fhir/ValueSet/$expand", query_string={"url": RELATIONSHIP}, headers=auth("ana-all"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["url"] == RELATIONSHIP and body["version"] == "4.0.1"
    codes = [(c["code"], c["display"]) for c in body["expansion"]["contains"]]
    assert ("N", "Next-of-Kin") in codes and ("C", "Emergency Contact") in codes
    assert body["expansion"]["total"] == len(codes) == 11
    assert all(c["system"] == "http://terminology.hl7.org/CodeSystem/v2-0131" for c in body["expansion"]["contains"])


def test_filter_count_and_version_are_honoured(client):
    filtered = client.get("/fhir/ValueSet/$expand", query_string={"url": RELATIONSHIP, "filter": "contact"},
                          headers=auth("ana-all")).get_json()
    assert [c["code"] for c in filtered["expansion"]["contains"]] == ["BP", "CP", "EP", "C"]
    paged = client.get("/fhir/ValueSet/$expand", query_string={"url": RELATIONSHIP, "count": "2", "offset": "1"},
                       headers=auth("ana-all")).get_json()
    assert [c["code"] for c in paged["expansion"]["contains"]] == ["CP", "EP"]
    missing = client.get("/fhir/ValueSet/$expand", query_string={"url": RELATIONSHIP, "valueSetVersion": "9.9"},
                         headers=auth("ana-all"))
    assert missing.status_code == 404 and missing.get_json()["resourceType"] == "OperationOutcome"


def test_expand_needs_a_url_and_the_value_set_read_scope(client):
    assert client.get("/fhir/ValueSet/$expand", headers=auth("ana-all")).status_code == 400
    unknown = client.get("/fhir/ValueSet/$expand", query_string={"url": "http://example.org/ValueSet/nope"},
                         headers=auth("ana-all"))
    assert unknown.status_code == 404
    denied = client.get("/fhir/ValueSet/$expand", query_string={"url": RELATIONSHIP}, headers=auth("ana-obs-rs"))
    assert denied.status_code == 403


def test_expand_inside_a_batch(client):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": f"ValueSet/$expand?url={RELATIONSHIP}"}},
        {"request": {"method": "GET", "url": "ValueSet/$expand?url=http://example.org/ValueSet/nope"}}]}
    reply = client.post("/fhir", json=bundle, headers=auth("ana-all", **{"Content-Type": "application/fhir+json"})).get_json()
    assert [e["response"]["status"][:3] for e in reply["entry"]] == ["200", "404"]
    assert reply["entry"][0]["resource"]["expansion"]["contains"][0]["code"] == "BP"
