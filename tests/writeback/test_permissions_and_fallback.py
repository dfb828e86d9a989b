"""Permission filtering, the sequential fallback's order and reference rewriting, and receipts."""
from __future__ import annotations

import pytest

from smart_app.ehr.client import WriteResult
from smart_app.delivery.writeback import (
    Receipt, build_submission_bundle, filter_by_permissions, receipt_from_response, resolve_references,
    response_from_sequential, sequential_requests,
)


def test_qr_only_server_gets_the_qr_and_a_provenance_without_observation_targets(build_args):
    bundle = build_submission_bundle(**build_args)
    kept, skipped = filter_by_permissions(bundle, lambda t: t in {"QuestionnaireResponse", "Provenance"})
    assert skipped == ["Observation"]
    assert [e["resource"]["resourceType"] for e in kept["entry"]] == ["QuestionnaireResponse", "Provenance"]
    assert kept["entry"][1]["resource"]["target"] == [{"reference": bundle["entry"][0]["fullUrl"]}]
    assert len(bundle["entry"]) == 4  # the input is not changed


def test_without_qr_write_observations_lose_their_dangling_derived_from(build_args):
    bundle = build_submission_bundle(**build_args)
    kept, skipped = filter_by_permissions(bundle, lambda t: t == "Observation")
    assert skipped == ["Provenance", "QuestionnaireResponse"]
    assert [e["resource"].get("derivedFrom") for e in kept["entry"]] == [[], []]


def test_provenance_with_nothing_left_to_target_is_skipped(build_args):
    bundle = build_submission_bundle(**build_args)
    kept, skipped = filter_by_permissions(bundle, lambda t: t == "Provenance")
    assert kept["entry"] == []
    assert skipped == ["Observation", "Provenance", "QuestionnaireResponse"]


def test_full_permissions_change_nothing(build_args):
    bundle = build_submission_bundle(**build_args)
    kept, skipped = filter_by_permissions(bundle, lambda t: True)
    assert (kept, skipped) == (bundle, [])


def test_sequential_order_puts_referenced_resources_first(build_args):
    bundle = build_submission_bundle(**build_args)
    # Shuffle so order must come from the references, not the input.
    bundle["entry"] = [bundle["entry"][3], bundle["entry"][2], bundle["entry"][0], bundle["entry"][1]]
    steps = sequential_requests(bundle)
    assert [s.resource["resourceType"] for s in steps] == [
        "QuestionnaireResponse", "Observation", "Observation", "Provenance"]
    assert steps[0].if_none_exist == bundle["entry"][2]["request"]["ifNoneExist"]


def test_sequential_refuses_cycles_and_non_creates():
    a = {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Observation", "derivedFrom": [{"reference": "urn:uuid:b"}]},
         "request": {"method": "POST", "url": "Observation"}}
    b = {"fullUrl": "urn:uuid:b", "resource": {"resourceType": "Observation", "derivedFrom": [{"reference": "urn:uuid:a"}]},
         "request": {"method": "POST", "url": "Observation"}}
    with pytest.raises(ValueError, match="circular"):
        sequential_requests({"entry": [a, b]})
    with pytest.raises(ValueError, match="creates"):
        sequential_requests({"entry": [{**a, "request": {"method": "DELETE", "url": "Observation/1"}}]})


def test_resolve_references_rewrites_only_known_urns(build_args):
    bundle = build_submission_bundle(**build_args)
    qr_url = bundle["entry"][0]["fullUrl"]
    prov = bundle["entry"][3]["resource"]
    resolved = resolve_references(prov, {qr_url: "QuestionnaireResponse/77"})
    assert resolved["target"][0] == {"reference": "QuestionnaireResponse/77"}
    assert resolved["target"][1] == prov["target"][1]
    assert resolved["agent"][1]["who"] == {"reference": "#app"}


def result(rtype: str, rid: str, status: int) -> WriteResult:
    """A WriteResult as FhirClient.create returns it."""
    return WriteResult(status, rtype, rid, "1", None, None, "2026-03-01T09:31:00Z", None)


def test_receipt_from_sequential_results_follows_request_order(build_args):
    bundle = build_submission_bundle(**build_args)
    steps = sequential_requests(bundle)
    results = [result("QuestionnaireResponse", "q1", 201), result("Observation", "o1", 200),
               result("Observation", "o2", 201), result("Provenance", "pv", 201)]
    receipt = receipt_from_response(bundle, response_from_sequential(steps, results, bundle))
    assert [(e.resource_type, e.id, e.status, e.created) for e in receipt.entries] == [
        ("QuestionnaireResponse", "q1", 201, True), ("Observation", "o1", 200, False),
        ("Observation", "o2", 201, True), ("Provenance", "pv", 201, True)]
    assert receipt.when == "2026-03-01T09:31:00Z"
    assert receipt.complete
    assert Receipt.from_dict(receipt.to_dict()) == receipt


def test_receipt_reads_absolute_locations_and_falls_back_to_recorded(build_args):
    bundle = build_submission_bundle(**build_args)
    response = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201 Created", "location": "https://ehr/fhir/QuestionnaireResponse/q9/_history/2"}},
        {"response": {"status": "200 OK", "location": "Observation/o1"}},
        {"response": {"status": "201"}, "resource": {"resourceType": "Observation", "id": "o2", "meta": {"versionId": "5"}}},
        {"response": {"status": "400 Bad Request"}},
    ]}
    receipt = receipt_from_response(bundle, response)
    assert [(e.id, e.version_id, e.status) for e in receipt.entries] == [
        ("q9", "2", 201), ("o1", None, 200), ("o2", "5", 201), (None, None, 400)]
    assert receipt.when == build_args["recorded"]
    assert not receipt.complete


def test_receipt_refuses_a_response_of_another_length(build_args):
    bundle = build_submission_bundle(**build_args)
    with pytest.raises(ValueError):
        receipt_from_response(bundle, {"entry": []})
