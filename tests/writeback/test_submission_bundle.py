"""The submission Bundle has an exact, deterministic shape with conditional creates."""
from __future__ import annotations

import copy
import json
import uuid

import pytest

from smart_app.delivery.writeback import build_submission_bundle, full_url_for
from smart_app.ehr.tokens import token_query
from tests.writeback.conftest import DEVICE, RECORDED, SUBMISSION, SYSTEM, obs


def urn(value: str) -> str:
    """Expected fullUrl for an identifier value, computed independently of the module."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{SYSTEM}|{value}"))


def test_entries_are_qr_observations_then_provenance_as_conditional_creates(build_args):
    bundle = build_submission_bundle(**build_args)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    values = [SUBMISSION, f"{SUBMISSION}/obs/44261-6", f"{SUBMISSION}/obs/29463-7", f"{SUBMISSION}/provenance"]
    assert [e["fullUrl"] for e in bundle["entry"]] == [urn(v) for v in values]
    assert [e["request"] for e in bundle["entry"]] == [
        {"method": "POST", "url": "QuestionnaireResponse", "ifNoneExist": f"identifier={SYSTEM}|{SUBMISSION}"},
        {"method": "POST", "url": "Observation", "ifNoneExist": f"identifier={SYSTEM}|{SUBMISSION}/obs/44261-6"},
        {"method": "POST", "url": "Observation", "ifNoneExist": f"identifier={SYSTEM}|{SUBMISSION}/obs/29463-7"},
        {"method": "POST", "url": "Provenance", "ifNoneExist": f"_tag={SYSTEM}|{SUBMISSION}/provenance"},
    ]


def test_questionnaire_response_carries_identifier_subject_encounter_author(build_args):
    qr = build_submission_bundle(**build_args)["entry"][0]["resource"]
    assert qr["identifier"] == {"system": SYSTEM, "value": SUBMISSION}
    assert qr["subject"] == {"reference": "Patient/p1"}
    assert qr["encounter"] == {"reference": "Encounter/e1"}
    assert qr["author"] == {"reference": "Patient/p1"}
    assert qr["item"] == build_args["questionnaire_response"]["item"]


def test_observations_derive_from_the_qr_urn_and_replace_placeholders(build_args):
    entries = build_submission_bundle(**build_args)["entry"]
    qr_url = entries[0]["fullUrl"]
    for entry in entries[1:3]:
        o = entry["resource"]
        assert o["derivedFrom"] == [{"reference": qr_url}]
        assert o["subject"] == {"reference": "Patient/p1"}
        assert o["encounter"] == {"reference": "Encounter/e1"}
        assert o["performer"] == [{"reference": "Patient/p1"}]
    assert entries[1]["resource"]["identifier"] == [{"system": SYSTEM, "value": f"{SUBMISSION}/obs/44261-6"}]


def test_provenance_targets_every_written_resource_with_author_and_app_device(build_args):
    entries = build_submission_bundle(**build_args)["entry"]
    prov = entries[-1]["resource"]
    assert prov["target"] == [{"reference": e["fullUrl"]} for e in entries[:-1]]
    assert prov["recorded"] == RECORDED
    assert prov["activity"]["coding"][0]["code"] == "CREATE"
    assert prov["meta"]["tag"] == [{"system": SYSTEM, "code": f"{SUBMISSION}/provenance"}]
    assert [(a["type"]["coding"][0]["code"], a["who"]) for a in prov["agent"]] == [
        ("author", {"reference": "Patient/p1"}), ("assembler", {"reference": "#app"})]
    assert prov["contained"] == [{**DEVICE, "id": "app"}]


def test_app_may_be_a_referenced_device_instead(build_args):
    build_args.update(app_device={"reference": "Device/app-1"}, author_ref=None)
    prov = build_submission_bundle(**build_args)["entry"][-1]["resource"]
    assert "contained" not in prov
    assert [a["who"] for a in prov["agent"]] == [{"reference": "Device/app-1"}]


def test_same_submission_gives_an_identical_bundle_and_inputs_are_untouched(build_args):
    before = copy.deepcopy(build_args)
    first = build_submission_bundle(**build_args)
    second = build_submission_bundle(**copy.deepcopy(before))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert build_args == before


def test_another_submission_gives_different_identifiers_and_full_urls(build_args):
    first = build_submission_bundle(**build_args)
    second = build_submission_bundle(**{**build_args, "submission_id": "other"})
    assert not {e["fullUrl"] for e in first["entry"]} & {e["fullUrl"] for e in second["entry"]}


@pytest.mark.parametrize("placeholder", [
    {"reference": "urn:smart-previsit:questionnaire-response"},
    {"reference": "urn:smart-previsit:pending-questionnaire-response"},
    {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"},
    {"type": "QuestionnaireResponse", "identifier": {"value": "x"}},
])
def test_any_placeholder_qr_link_is_replaced_but_other_sources_are_kept(build_args, placeholder):
    source = {"reference": "MedicationStatement/ms1"}
    build_args["observations"] = [obs("71799-1", 1, derivedFrom=[placeholder, source])]
    entries = build_submission_bundle(**build_args)["entry"]
    assert entries[1]["resource"]["derivedFrom"] == [{"reference": entries[0]["fullUrl"]}, source]


def test_same_code_twice_is_keyed_by_focus_or_numbered(build_args):
    build_args["observations"] = [
        obs("71799-1", 1, focus=[{"reference": "MedicationStatement/ms1"}]),
        obs("71799-1", 1, focus=[{"reference": "MedicationRequest/mr2"}]),
        obs("71799-1", 1), obs("71799-1", 1),
    ]
    values = [e["resource"]["identifier"][0]["value"] for e in build_submission_bundle(**build_args)["entry"][1:-1]]
    assert values == [f"{SUBMISSION}/obs/71799-1/MedicationStatement/ms1", f"{SUBMISSION}/obs/71799-1/MedicationRequest/mr2",
                      f"{SUBMISSION}/obs/71799-1", f"{SUBMISSION}/obs/71799-1#2"]


def test_preset_observation_identifier_by_link_id_is_kept(build_args):
    build_args["observations"] = [obs("29463-7", 70, identifier=[{"system": SYSTEM, "value": f"{SUBMISSION}/obs/weight"}])]
    entry = build_submission_bundle(**build_args)["entry"][1]
    assert entry["fullUrl"] == urn(f"{SUBMISSION}/obs/weight")
    assert entry["request"]["ifNoneExist"] == f"identifier={SYSTEM}|{SUBMISSION}/obs/weight"


@pytest.mark.parametrize("change, message", [
    (lambda a: a["questionnaire_response"].update(subject={"reference": "Patient/other"}), "subject"),
    (lambda a: a["observations"][0].update(subject={"reference": "Patient/other"}), "subject"),
    (lambda a: a["observations"][0].update(encounter={"reference": "Encounter/other"}), "encounter"),
    (lambda a: a["questionnaire_response"].update(identifier={"system": SYSTEM, "value": "other"}), "another submission"),
    (lambda a: a["observations"][0].update(identifier=[{"system": SYSTEM, "value": "other/obs/x"}]), "another submission"),
    (lambda a: a["observations"][0].update(code={}), "code"),
    (lambda a: a.update(app_device={"display": "app"}), "app_device"),
    (lambda a: a.update(submission_id=""), "submission_id"),
])
def test_inconsistent_inputs_are_refused(build_args, change, message):
    change(build_args)
    with pytest.raises(ValueError, match=message):
        build_submission_bundle(**build_args)


def test_token_query_escapes_search_specials_and_encodes_query_characters():
    assert token_query("identifier", "urn:x", "a,b|c&d e") == r"identifier=urn:x|a%5C%2Cb%5C%7Cc%26d%20e"
    assert full_url_for(SYSTEM, "v") == urn("v")
