"""send_submission writes exactly one set of resources, by transaction or by sequential fallback."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from smart_app.ehr import client as fhir
from smart_app.ehr.client import FhirClient, FhirError, FhirErrorCode
from smart_app.delivery.writeback import build_submission_bundle, send_submission
from tests.fhir.conftest import TOKEN, fhir_response
from tests.fhir.fake_store import ConditionalStore


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    """A fake FHIR server on 127.0.0.1 for this module."""
    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def store(server: HTTPServer) -> Iterator[ConditionalStore]:
    """A conditional-create store behind the fake server's write endpoints."""
    server.clear()
    fhir.clear_capabilities_cache()
    store = ConditionalStore(server.url_for("/fhir"))
    for rtype in ("QuestionnaireResponse", "Observation", "Provenance"):
        server.expect_request(f"/fhir/{rtype}", method="POST").respond_with_handler(store.handle_create)
    server.expect_request("/fhir", method="POST").respond_with_handler(store.handle_transaction)
    yield store
    server.clear()
    fhir.clear_capabilities_cache()


def declare(server: HTTPServer, *interactions: str) -> None:
    """Serve a CapabilityStatement with the given system interactions."""
    server.expect_request("/fhir/metadata").respond_with_response(fhir_response({
        "resourceType": "CapabilityStatement", "rest": [{"mode": "server", "interaction": [{"code": c} for c in interactions]}]}))


def client(server: HTTPServer) -> FhirClient:
    """A client with no real sleeping."""
    return FhirClient(server.url_for("/fhir"), token=lambda: TOKEN, sleep=lambda s: None)


def stored_counts(store: ConditionalStore) -> dict[str, int]:
    """How many resources of each written type the server holds."""
    return {t: len(store.of_type(t)) for t in ("QuestionnaireResponse", "Observation", "Provenance")}


def test_transaction_path_twice_stores_one_set(server, store, build_args):
    declare(server, "transaction")
    bundle = build_submission_bundle(**build_args)
    first = send_submission(client(server), bundle)
    second = send_submission(client(server), build_submission_bundle(**build_args))
    assert stored_counts(store) == {"QuestionnaireResponse": 1, "Observation": 2, "Provenance": 1}
    assert [e.created for e in first.entries] == [True] * 4
    assert [e.created for e in second.entries] == [False] * 4
    assert [e.id for e in first.entries] == [e.id for e in second.entries]
    assert store.refs_are_resolved()


def test_sequential_fallback_resolves_references_and_is_idempotent(server, store, build_args):
    declare(server, "batch")
    bundle = build_submission_bundle(**build_args)
    receipt = send_submission(client(server), bundle)
    send_submission(client(server), bundle)
    assert stored_counts(store) == {"QuestionnaireResponse": 1, "Observation": 2, "Provenance": 1}
    qr_id = store.of_type("QuestionnaireResponse")[0]["id"]
    assert all(o["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr_id}"}] for o in store.of_type("Observation"))
    prov = store.of_type("Provenance")[0]
    assert prov["target"] == [{"reference": f"{e.resource_type}/{e.id}"} for e in receipt.entries[:-1]]
    assert store.refs_are_resolved()
    posted = [r.path for r, _ in server.log if r.method == "POST"]
    assert posted[:4] == ["/fhir/QuestionnaireResponse", "/fhir/Observation", "/fhir/Observation", "/fhir/Provenance"]


def test_sequential_failure_midway_then_resend_completes_without_duplicates(server, store, build_args):
    server.clear_all_handlers()  # Provenance is refused once, before the store's handlers
    declare(server, "batch")
    server.expect_oneshot_request("/fhir/Provenance", method="POST").respond_with_response(
        fhir_response({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}, 403))
    for rtype in ("QuestionnaireResponse", "Observation", "Provenance"):
        server.expect_request(f"/fhir/{rtype}", method="POST").respond_with_handler(store.handle_create)
    bundle = build_submission_bundle(**build_args)
    with pytest.raises(FhirError) as caught:
        send_submission(client(server), bundle)
    assert caught.value.code is FhirErrorCode.FORBIDDEN
    assert stored_counts(store) == {"QuestionnaireResponse": 1, "Observation": 2, "Provenance": 0}
    send_submission(client(server), bundle)
    assert stored_counts(store) == {"QuestionnaireResponse": 1, "Observation": 2, "Provenance": 1}
