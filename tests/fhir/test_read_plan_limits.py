"""A plan's page limit holds in both ways of running it: further pages are read up to it, and a cut is flagged."""
from __future__ import annotations

import pytest

from smart_app.ehr.reads import Read, ReadPlan, run
from tests.fhir.conftest import fhir_response
from tests.fhir.read_plans import capability, searchset


def _observation(n: int) -> dict:
    """A minimal Observation."""
    return {"resourceType": "Observation", "id": f"o{n}"}


@pytest.mark.parametrize("batch", [True, False])
def test_a_search_reads_at_most_its_pages_and_says_it_was_cut(fhir_server, make_client, batch):
    base = fhir_server.url_for("/fhir")
    first = searchset(_observation(1), next_url=f"{base}/Observation?page=2")
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=batch)))
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(fhir_response({
        "resourceType": "Bundle", "type": "batch-response", "entry": [
            {"resource": first, "response": {"status": "200 OK"}},
            {"resource": {"resourceType": "Patient", "id": "p1"}, "response": {"status": "200 OK"}}]}))
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response({"resourceType": "Patient", "id": "p1"}))
    fhir_server.expect_request("/fhir/Observation", query_string="code=x").respond_with_response(fhir_response(first))
    for page in (2, 3):
        fhir_server.expect_request("/fhir/Observation", query_string=f"page={page}").respond_with_response(fhir_response(
            searchset(_observation(page), next_url=f"{base}/Observation?page={page + 1}")))
    client = make_client()
    client.capabilities()
    fhir_server.clear_log()

    found = run(client, ReadPlan.of(Read.search("obs", "Observation", [("code", "x")], max_pages=2),
                                    Read.resource("patient", "Patient", "p1")))

    assert [o["id"] for o in found["obs"].matches] == ["o1", "o2"] and found["obs"].truncated
    asked = [request.query_string.decode() for request, _ in fhir_server.log if request.path == "/fhir/Observation"]
    assert "page=3" not in asked  # the limit: two pages, never the third
    assert ("POST" in [r.method for r, _ in fhir_server.log]) is batch


def test_one_page_is_the_default_and_more_is_flagged_not_read(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Observation").respond_with_response(fhir_response(
        searchset(_observation(1), next_url=fhir_server.url_for("/fhir/Observation?page=2"))))

    found = run(make_client(), ReadPlan.of(Read.search("obs", "Observation", [("code", "x")])))

    assert [o["id"] for o in found["obs"].matches] == ["o1"] and found["obs"].truncated
    assert len(fhir_server.log) == 1


def test_a_search_needs_at_least_one_page():
    with pytest.raises(ValueError):
        Read.search("obs", "Observation", [], max_pages=0)


def test_one_name_means_one_read_and_the_same_read_twice_is_sent_once():
    patient = Read.resource("patient", "Patient", "p1")
    assert len(ReadPlan.of(patient) + ReadPlan.of(Read.resource("patient", "Patient", "p1"))) == 1
    with pytest.raises(ValueError):
        ReadPlan.of(patient, Read.resource("patient", "Patient", "p2"))
