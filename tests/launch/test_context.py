"""The typed launch context: granted scopes drive permissions up front; patient resolution."""
from __future__ import annotations

import pytest

from smart_app.context import FhirReference, LaunchContext, Permissions, parse_token_response
from tests.fixtures.fake_ehr import id_token, token_response


@pytest.mark.parametrize("scopes, resource, read, write", [
    ("patient/Observation.rs", "Observation", True, False),
    ("patient/Observation.cu", "Observation", False, True),
    ("patient/Observation.read", "Observation", True, False),
    ("patient/Observation.write", "Observation", False, True),
    ("patient/Observation.*", "Observation", True, True),
    ("patient/*.rs", "Condition", True, False),
    ("user/QuestionnaireResponse.cruds", "QuestionnaireResponse", True, True),
    ("patient/Observation.rs?category=vital-signs", "Observation", True, False),
    ("system/Observation.cruds", "Observation", False, False),
    ("patient/Observation.rs", "Patient", False, False),
    ("launch openid fhirUser", "Patient", False, False),
])
def test_permissions_from_granted_scopes(scopes, resource, read, write):
    permissions = Permissions(frozenset(scopes.split()))
    assert permissions.can_read(resource) is read
    assert permissions.can_write(resource) is write


def test_read_only_reason_only_when_nothing_can_be_written():
    assert Permissions(frozenset({"patient/Patient.r", "patient/Observation.rs"})).read_only_reason
    assert Permissions(frozenset({"patient/QuestionnaireResponse.c"})).read_only_reason is None


def test_reduced_granted_scopes_show_read_only_mode_up_front(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", scope="launch openid fhirUser patient/Patient.r"))
    launcher.serve_patient("p1")
    html = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert "read-only access" in html


def test_reduced_scopes_without_patient_read_skip_the_banner_read(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", scope="launch patient/Observation.rs"))
    response = client.get(f"/l/{handle}/")
    assert response.status_code == 200
    assert not [r for r in fake_ehr.requests() if r.path.startswith("/fhir/Patient")]


def test_full_scopes_show_no_read_only_notice(client, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch("p1")
    launcher.serve_patient("p1")
    assert "read-only access" not in client.get(f"/l/{handle}/").get_data(as_text=True)


def test_standalone_without_patient_uses_patient_fhir_user(client, launcher, fake_ehr):
    auth = launcher.authorize(launch=None)
    token = token_response(patient=None)
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"],
                                 fhirUser=fake_ehr.base + "/Patient/self-7")
    fake_ehr.serve_token_once(token)
    location = launcher.callback(auth.state).headers["Location"]
    launcher.serve_patient("self-7")
    html = client.get(location).get_data(as_text=True)
    assert "Family-self-7" in html and "as the patient" in html


def test_standalone_without_any_patient_is_a_clear_error(launcher, fake_ehr):
    auth = launcher.authorize(launch=None)
    token = token_response(patient=None)
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud="previsit-test", nonce=auth.params["nonce"],
                                 fhirUser="Practitioner/dr1")
    fake_ehr.serve_token_once(token)
    response = launcher.callback(auth.state)
    assert response.status_code == 400
    assert "NO_PATIENT_CONTEXT" in response.get_data(as_text=True)


def test_token_response_context_is_parsed_and_malformed_fields_dropped():
    token = token_response(
        patient="p1", encounter="bad id with spaces", need_patient_banner="yes", smart_style_url="javascript:alert(1)",
        intent="reconcile-medications", tenant="t1",
        fhirContext=[{"reference": "Appointment/a1"}, {"canonical": "http://example.org/Questionnaire/q|1", "type": "Questionnaire"},
                     "junk", {"reference": "https://evil.example/not a ref"}],
    )
    ctx = parse_token_response(token, handle="h" * 22, iss="https://ehr/fhir", client_id="c", launch_mode="ehr",
                               requested_scope="x", fhir_user="Practitioner/dr1", now=1000.0)
    assert ctx.patient_id == "p1" and ctx.encounter_id is None
    assert ctx.need_patient_banner is True and ctx.smart_style_url is None
    assert ctx.intent == "reconcile-medications" and ctx.tenant == "t1"
    assert ctx.expires_at == 4600.0
    assert [i.reference.relative if i.reference else None for i in ctx.fhir_context] == ["Appointment/a1", None, None]
    assert ctx.fhir_context[1].canonical == "http://example.org/Questionnaire/q|1"
    assert LaunchContext.from_record(ctx.to_record()) == ctx


def test_missing_scope_in_token_response_means_requested_scope():
    token = token_response(scope=None)
    ctx = parse_token_response(token, handle="h" * 22, iss="i", client_id="c", launch_mode="ehr",
                               requested_scope="patient/Patient.r launch", fhir_user=None, now=0)
    assert ctx.granted_scopes == {"patient/Patient.r", "launch"}


@pytest.mark.parametrize("value, expected", [
    ("Practitioner/123", FhirReference("Practitioner", "123")),
    ("https://ehr.example/fhir/Patient/abc", FhirReference("Patient", "abc", "https://ehr.example/fhir")),
    ("https://ehr.example/fhir/Patient/abc/_history/2", FhirReference("Patient", "abc", "https://ehr.example/fhir")),
    ("Patient", None), ("a/b/c", None), ("javascript:alert(1)", None), ("", None), (None, None),
])
def test_fhir_user_reference_parsing(value, expected):
    assert FhirReference.parse(value) == expected
