"""The CapabilityStatement is fetched once and drives transaction support decisions."""
from __future__ import annotations

from smart_app.ehr.client import FhirClient
from tests.fhir.conftest import TOKEN, fhir_response


def statement(*interactions: str, conditional_create: bool = False) -> dict:
    """A minimal server CapabilityStatement."""
    return {"resourceType": "CapabilityStatement", "rest": [{
        "mode": "server",
        "interaction": [{"code": code} for code in interactions],
        "resource": [{"type": "Observation", "conditionalCreate": conditional_create}],
    }]}


def test_capabilities_are_cached_across_clients_of_the_same_server(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(statement("transaction")))
    first, second = make_client(), make_client()
    assert first.supports_transaction()
    assert second.supports_transaction()
    assert first.capabilities() is second.capabilities()
    assert len(fhir_server.log) == 1


def test_cache_expires_after_its_ttl(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(statement()))
    now = {"t": 1000.0}
    make_client(clock=lambda: now["t"], capabilities_ttl=60).capabilities()
    now["t"] += 61
    make_client(clock=lambda: now["t"], capabilities_ttl=60).capabilities()
    assert len(fhir_server.log) == 2


def test_without_transaction_interaction_supports_transaction_is_false(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(
        fhir_response(statement("batch", conditional_create=True)))
    client = make_client()
    assert not client.supports_transaction()
    assert client.supports_conditional_create("Observation")
    assert not client.supports_conditional_create("QuestionnaireResponse")


def test_cache_is_per_base_url(fhir_server):
    fhir_server.expect_request("/a/metadata").respond_with_response(fhir_response(statement("transaction")))
    fhir_server.expect_request("/b/metadata").respond_with_response(fhir_response(statement()))
    assert FhirClient(fhir_server.url_for("/a"), token=lambda: TOKEN).supports_transaction()
    assert not FhirClient(fhir_server.url_for("/b"), token=lambda: TOKEN).supports_transaction()
