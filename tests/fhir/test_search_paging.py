"""Search follows `next` only on the same origin, never sending the token elsewhere."""
from __future__ import annotations

import pytest

from smart_app.ehr.client import FhirError, FhirErrorCode
from tests.fhir.conftest import fhir_response


def page(entries: list[dict], next_url: str | None = None) -> dict:
    """A searchset page with optional next link."""
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries, "link": []}
    if next_url:
        bundle["link"].append({"relation": "next", "url": next_url})
    return bundle


def match(resource_type: str, rid: str) -> dict:
    """A search entry in match mode."""
    return {"resource": {"resourceType": resource_type, "id": rid}, "search": {"mode": "match"}}


def test_follows_same_origin_next_links_and_splits_includes(fhir_server, make_client):
    page2 = fhir_server.url_for("/fhir?_getpages=abc&_offset=1")
    include = {"resource": {"resourceType": "Medication", "id": "m1"}, "search": {"mode": "include"}}
    fhir_server.expect_ordered_request("/fhir/MedicationRequest").respond_with_response(
        fhir_response(page([match("MedicationRequest", "r1"), include], page2)))
    fhir_server.expect_ordered_request("/fhir", query_string="_getpages=abc&_offset=1").respond_with_response(
        fhir_response(page([match("MedicationRequest", "r2")])))
    result = make_client().search("MedicationRequest", {"patient": "p1", "_include": "MedicationRequest:medication"})
    assert [r["id"] for r in result.matches] == ["r1", "r2"]
    assert [r["id"] for r in result.included] == ["m1"]
    assert [r["id"] for r in result] == ["r1", "r2", "m1"]
    assert len(fhir_server.log) == 2
    assert fhir_server.log[1][0].headers["Authorization"].startswith("Bearer ")


def test_refuses_next_link_on_another_origin_without_sending_the_token(fhir_server, other_server, make_client):
    other_server.expect_request("/fhir").respond_with_response(fhir_response(page([])))
    fhir_server.expect_request("/fhir/MedicationRequest").respond_with_response(
        fhir_response(page([match("MedicationRequest", "r1")], other_server.url_for("/fhir?page=2"))))
    with pytest.raises(FhirError) as caught:
        make_client().search("MedicationRequest", {"patient": "p1"})
    assert caught.value.code is FhirErrorCode.OFF_SERVER_LINK
    assert other_server.log == []


@pytest.mark.parametrize("make_next", [
    lambda url: url.replace("http://", "https://"),
    lambda url: url.replace("127.0.0.1", "localhost"),
    lambda url: url.replace("http://", "http://user@"),
    lambda url: "//" + url.split("://", 1)[1],
])
def test_refuses_next_links_that_change_scheme_host_or_add_userinfo(fhir_server, make_client, make_next):
    fhir_server.expect_request("/fhir/Observation").respond_with_response(
        fhir_response(page([], make_next(fhir_server.url_for("/fhir?page=2")))))
    with pytest.raises(FhirError) as caught:
        make_client().search("Observation", {"patient": "p1"})
    assert caught.value.code is FhirErrorCode.OFF_SERVER_LINK
    assert len(fhir_server.log) == 1




def test_search_rejects_a_non_bundle_reply(fhir_server, make_client):
    fhir_server.expect_request("/fhir/Observation").respond_with_response(
        fhir_response({"resourceType": "Patient", "id": "x"}))
    with pytest.raises(FhirError) as caught:
        make_client().search("Observation", {})
    assert caught.value.code is FhirErrorCode.BAD_RESPONSE


@pytest.mark.parametrize("next_path", [
    "/tenant-b/fhir/Observation?page=2",  # same host, another tenant's FHIR base
    "/fhirx/Observation?page=2",  # shares the base's prefix but is not under it
    "/Observation?page=2",  # above the base
    "/fhir/../tenant-b/fhir/Observation?page=2",  # climbs out after normalisation
    "/fhir/%2e%2e/tenant-b/fhir/Observation?page=2",
])
def test_refuses_next_links_outside_the_base_path_on_the_same_origin(fhir_server, make_client, next_path):
    fhir_server.expect_request("/fhir/Observation").respond_with_response(
        fhir_response(page([], fhir_server.url_for(next_path))))
    with pytest.raises(FhirError) as caught:
        make_client().search("Observation", {"patient": "p1"})
    assert caught.value.code is FhirErrorCode.OFF_SERVER_LINK
    assert len(fhir_server.log) == 1  # the token went to the base only


def test_follows_next_links_under_the_base_path(fhir_server, make_client):
    fhir_server.expect_ordered_request("/fhir/Observation").respond_with_response(
        fhir_response(page([match("Observation", "o1")], fhir_server.url_for("/fhir/Observation/_page?n=2"))))
    fhir_server.expect_ordered_request("/fhir/Observation/_page").respond_with_response(
        fhir_response(page([match("Observation", "o2")])))
    assert [r["id"] for r in make_client().search("Observation", {"patient": "p1"})] == ["o1", "o2"]
