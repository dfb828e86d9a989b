"""SMART scope parsing (v1 and v2) and the registered-scope cut of a grant."""
from __future__ import annotations

import pytest

from sandbox.auth.scopes import allowed_scopes, describe_scope, parse_resource_scope


@pytest.mark.parametrize(("scope", "context", "rtype", "perms"), [
    ("patient/Observation.rs", "patient", "Observation", "rs"),
    ("patient/Observation.read", "patient", "Observation", "rs"),
    ("user/*.write", "user", "*", "cud"),
    ("patient/*.*", "patient", "*", "cruds"),
    ("patient/Observation.rs?category=vital-signs", "patient", "Observation", "rs"),
])
def test_resource_scopes_parse_to_v2_permissions(scope, context, rtype, perms):
    parsed = parse_resource_scope(scope)
    assert (parsed.context, parsed.resource_type, parsed.permissions) == (context, rtype, frozenset(perms))


@pytest.mark.parametrize("scope", ["patient/Observation.sr", "patient/Observation.x", "Observation.rs",
                                   "patient/observation.rs", "launch", "patient/Observation."])
def test_non_resource_or_malformed_scopes_do_not_parse(scope):
    assert parse_resource_scope(scope) is None


def test_grant_keeps_only_what_the_registration_covers():
    registered = "openid offline_access patient/Observation.rs patient/*.r user/Patient.cruds"
    requested = ("openid fhirUser launch launch/patient offline_access patient/Observation.read "
                 "patient/Observation.c patient/Condition.r patient/Condition.rs user/Patient.u system/Patient.r")
    assert allowed_scopes(requested, registered) == [
        "openid", "fhirUser", "launch", "launch/patient", "offline_access",
        "patient/Observation.read", "patient/Condition.r", "user/Patient.u"]


def test_offline_access_must_be_registered():
    assert allowed_scopes("offline_access online_access", "openid") == ["online_access"]


def test_a_query_restricted_registration_does_not_cover_the_unrestricted_scope():
    assert allowed_scopes("patient/Observation.rs", "patient/Observation.rs?category=vital-signs") == []


def test_plain_words():
    assert describe_scope("patient/QuestionnaireResponse.crus") == \
        "Create, read, update and search questionnaire response records for the patient in context"
    assert describe_scope("offline_access") == "Keep access after you close the app"
