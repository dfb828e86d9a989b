"""Receipts tell the truth: what this send created or completed is "saved"; only a conditional create that matched is "already there"."""
from __future__ import annotations

from smart_app.delivery.writeback import receipt_from_response


def _request(resource_type: str, method: str, url: str, **extra: str) -> dict:
    """One request entry of a transaction Bundle."""
    return {"fullUrl": f"urn:uuid:{resource_type}", "resource": {"resourceType": resource_type},
            "request": {"method": method, "url": url, **extra}}


def _response(*statuses: tuple[str, str]) -> dict:
    """A transaction-response Bundle with these (status, location) entries."""
    return {"resourceType": "Bundle", "type": "transaction-response",
            "entry": [{"response": {"status": status, "location": location}} for status, location in statuses]}


def test_a_draft_completed_by_put_is_saved_though_the_server_answers_200():
    request = {"entry": [_request("QuestionnaireResponse", "PUT", "QuestionnaireResponse/d1"),
                         _request("Observation", "POST", "Observation", ifNoneExist="identifier=x|1"),
                         _request("Provenance", "POST", "Provenance", ifNoneExist="identifier=x|p")]}
    receipt = receipt_from_response(request, _response(("200 OK", "QuestionnaireResponse/d1/_history/2"),
                                                       ("201 Created", "Observation/o1/_history/1"),
                                                       ("201 Created", "Provenance/p1/_history/1")))
    assert [(e.resource_type, e.created) for e in receipt.entries] == [
        ("QuestionnaireResponse", True), ("Observation", True), ("Provenance", True)]


def test_only_a_conditional_create_that_matched_is_already_there():
    request = {"entry": [_request("QuestionnaireResponse", "PUT", "QuestionnaireResponse/d1"),
                         _request("Observation", "POST", "Observation", ifNoneExist="identifier=x|1")]}
    receipt = receipt_from_response(request, _response(("200 OK", "QuestionnaireResponse/d1/_history/3"),
                                                       ("200 OK", "Observation/o1/_history/1")))
    assert [e.created for e in receipt.entries] == [True, False]


def test_a_failed_put_is_not_saved():
    request = {"entry": [_request("QuestionnaireResponse", "PUT", "QuestionnaireResponse/d1")]}
    receipt = receipt_from_response(request, _response(("412 Precondition Failed", "")))
    assert [e.created for e in receipt.entries] == [False]
