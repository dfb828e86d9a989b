"""A request reads each thing once: parts of a page that declare the same read share one answer."""
from __future__ import annotations

from smart_app.ehr.reads import Read, ReadPlan, RequestReads
from tests.fhir.conftest import fhir_response


def test_a_read_two_parts_of_a_page_declare_goes_out_once(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Patient/p1").respond_with_response(fhir_response({"resourceType": "Patient", "id": "p1"}))
    fhir_server.expect_request("/fhir/Encounter/e1").respond_with_response(fhir_response({"resourceType": "Encounter", "id": "e1"}))
    reads = RequestReads(make_client, batch=False)

    banner = reads.fetch(ReadPlan.of(Read.resource("patient", "Patient", "p1"), Read.resource("encounter", "Encounter", "e1")))
    header = reads.fetch(ReadPlan.of(Read.resource("whose", "Patient", "p1")))  # another part, its own name

    assert banner["patient"]["id"] == header["whose"]["id"] == "p1"
    assert sorted(r.path for r, _ in fhir_server.log) == ["/fhir/Encounter/e1", "/fhir/Patient/p1"]


def test_what_a_request_builds_from_its_reads_is_built_once():
    reads, built = RequestReads(lambda: None), []
    first = reads.built("catalog", lambda: built.append(1) or ["entry"])
    assert reads.built("catalog", lambda: built.append(2) or ["other"]) is first and built == [1]
