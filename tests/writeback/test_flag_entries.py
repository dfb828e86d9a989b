"""Safety Flags ride in the submission's transaction: keyed by rule, pointing at the response, under Provenance."""
from __future__ import annotations

import uuid

from smart_app.safety.flags import FLAG_DETAIL, RESPONSE_PLACEHOLDER, RULE_SYSTEM
from smart_app.delivery.writeback import build_submission_bundle, filter_by_permissions
from tests.writeback.conftest import SUBMISSION, SYSTEM

FLAG = {"resourceType": "Flag", "status": "active",
        "extension": [{"url": FLAG_DETAIL, "valueReference": {"reference": RESPONSE_PLACEHOLDER}}],
        "code": {"coding": [{"system": RULE_SYSTEM, "code": "phq9-item9-self-harm"}], "text": "Self-harm"},
        "period": {"start": "2026-03-01T10:00:00Z"}}


def test_a_flag_is_a_conditional_create_keyed_by_submission_and_rule(build_args):
    entries = build_submission_bundle(**build_args, flags=[FLAG])["entry"]
    [flag] = [e for e in entries if e["resource"]["resourceType"] == "Flag"]
    value = f"{SUBMISSION}/flag/phq9-item9-self-harm"
    assert flag["fullUrl"] == "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{SYSTEM}|{value}"))
    assert flag["request"] == {"method": "POST", "url": "Flag", "ifNoneExist": f"identifier={SYSTEM}|{value}"}
    resource = flag["resource"]
    assert resource["identifier"] == [{"system": SYSTEM, "value": value}]
    assert resource["subject"] == {"reference": "Patient/p1"} and resource["encounter"] == {"reference": "Encounter/e1"}
    assert resource["extension"] == [{"url": FLAG_DETAIL, "valueReference": {"reference": entries[0]["fullUrl"]}}]
    assert {"reference": flag["fullUrl"]} in entries[-1]["resource"]["target"]  # Provenance covers it
    assert FLAG["extension"][0]["valueReference"]["reference"] == RESPONSE_PLACEHOLDER  # input untouched


def test_the_same_inputs_give_the_same_bundle(build_args):
    assert build_submission_bundle(**build_args, flags=[FLAG]) == build_submission_bundle(**build_args, flags=[FLAG])


def test_without_flag_scope_the_flag_is_left_out_and_named(build_args):
    bundle = build_submission_bundle(**build_args, flags=[FLAG])
    kept, skipped = filter_by_permissions(bundle, lambda t: t != "Flag")
    assert skipped == ["Flag"]
    assert all(e["resource"]["resourceType"] != "Flag" for e in kept["entry"])
    flag_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Flag")
    assert {"reference": flag_url} not in kept["entry"][-1]["resource"]["target"]
