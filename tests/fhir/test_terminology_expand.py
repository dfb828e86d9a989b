"""ValueSet/$expand on the launch's own server: capability-checked, one wave per form, cached per server."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from smart_app.forms import terminology
from smart_app.forms import build_form
from tests.fhir.conftest import fhir_response

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"
MARITAL = "http://hl7.org/fhir/ValueSet/marital-status"
EXPAND = {"name": "expand", "definition": "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"}


def capability(*, expand: bool = True, batch: bool = True) -> dict:
    """A CapabilityStatement that does (or does not) declare $expand and batch."""
    resource = {"type": "ValueSet", "interaction": [{"code": "read"}], **({"operation": [EXPAND]} if expand else {})}
    return {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
            "rest": [{"mode": "server", "resource": [resource],
                      "interaction": [{"code": "batch"}] if batch else []}]}


def expansion(url: str, version: str, *codes: tuple[str, str]) -> dict:
    """An expanded ValueSet."""
    return {"resourceType": "ValueSet", "url": url, "version": version, "status": "active",
            "expansion": {"timestamp": "2026-01-01T00:00:00Z",
                          "contains": [{"system": "http://example.org/cs", "code": c, "display": d} for c, d in codes]}}


def batch_server(known: dict[str, dict]):
    """A batch handler answering each $expand entry by its url parameter (404 for the rest)."""
    def handler(request):
        """One response entry per request entry, in order."""
        entries = []
        for entry in json.loads(request.data)["entry"]:
            url = parse_qs(urlsplit(entry["request"]["url"]).query)["url"][0]
            entries.append({"resource": known[url], "response": {"status": "200 OK"}} if url in known
                           else {"response": {"status": "404 Not Found"}})
        return fhir_response({"resourceType": "Bundle", "type": "batch-response", "entry": entries})
    return handler


@pytest.fixture(autouse=True)
def _fresh_terminology_cache():
    """Each test starts with nothing expanded."""
    terminology.clear_cache()
    yield
    terminology.clear_cache()


def test_all_value_sets_of_a_form_go_out_in_one_batch(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability()))
    fhir_server.expect_request("/fhir", method="POST").respond_with_response(fhir_response({
        "resourceType": "Bundle", "type": "batch-response", "entry": [
            {"resource": expansion(GENDER, "5.0.0", ("f", "Woman")), "response": {"status": "200 OK"}},
            {"response": {"status": "404 Not Found"}}]}))
    found = terminology.expand_all(make_client(), [GENDER, MARITAL + "|4.0.1"])

    assert list(found) == [GENDER]
    [batch] = [json.loads(request.data) for request, _ in fhir_server.log if request.method == "POST"]
    urls = [e["request"]["url"] for e in batch["entry"]]
    assert [e["request"]["method"] for e in batch["entry"]] == ["GET", "GET"]
    assert [urlsplit(u).path for u in urls] == ["ValueSet/$expand", "ValueSet/$expand"]
    assert parse_qs(urlsplit(urls[0]).query) == {"url": [GENDER]}
    assert parse_qs(urlsplit(urls[1]).query) == {"url": [MARITAL], "valueSetVersion": ["4.0.1"]}


def test_expansions_and_misses_are_cached_per_server(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=False)))
    fhir_server.expect_request("/fhir/ValueSet/$expand", query_string={"url": GENDER}).respond_with_response(
        fhir_response(expansion(GENDER, "5.0.0", ("f", "Woman"))))
    fhir_server.expect_request("/fhir/ValueSet/$expand", query_string={"url": MARITAL}).respond_with_response(
        fhir_response({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}, 404))
    client = make_client()
    first = terminology.expand_all(client, [GENDER, MARITAL])
    asked = len(fhir_server.log)
    second = terminology.expand_all(make_client(), [GENDER, MARITAL])

    assert first == second and list(first) == [GENDER]
    assert len(fhir_server.log) == asked  # neither the expansion nor the miss is asked again
    expands = [r for r, _ in fhir_server.log if r.path.endswith("$expand")]
    assert len(expands) == 2  # without batch: one parallel wave, one GET each


def test_a_server_that_does_not_declare_expand_is_not_asked(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(expand=False)))
    assert terminology.expand_all(make_client(), [GENDER]) == {}
    assert [r.path for r, _ in fhir_server.log] == ["/fhir/metadata"]


def test_the_ehr_expansion_replaces_the_bundled_list_without_changing_the_shared_form(fhir_server, make_client):
    form = build_form({"resourceType": "Questionnaire", "status": "active", "item": [
        {"linkId": "g", "type": "choice", "text": "Gender", "answerValueSet": GENDER},
        {"linkId": "x", "type": "choice", "text": "Unknown list", "answerValueSet": "http://example.org/ValueSet/none"}]})
    assert [o.label for o in form.by_link_id["g"].options] == ["Male", "Female", "Other", "Unknown"]  # bundled
    assert form.by_link_id["x"].options == () and form.by_link_id["x"].free_text_fallback
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability()))
    fhir_server.expect_request("/fhir", method="POST").respond_with_handler(batch_server(
        {GENDER: expansion(GENDER, "5.0.0", ("f", "Woman"), ("m", "Man"))}))

    resolved = terminology.resolve_form(make_client(), form)

    assert [o.label for o in resolved.by_link_id["g"].options] == ["Woman", "Man"]
    assert resolved.by_link_id["g"].options_source == "ehr"
    assert resolved.by_link_id["x"].free_text_fallback
    assert [o.label for o in form.by_link_id["g"].options] == ["Male", "Female", "Other", "Unknown"]
    assert terminology.resolve_form(make_client(), form) is resolved  # kept per form and server
