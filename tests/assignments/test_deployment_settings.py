"""launch.json chooses when library forms are offered; a bad value says what is wrong."""
from __future__ import annotations

import pytest

from smart_app.config import ConfigError, parse_settings


def _valid(**extra) -> dict:
    return {"client_name": "x", "redirect_uris": ["http://localhost:8000/callback"], "scope": "openid",
            "fhir_servers": [{"iss": "https://ehr.example/fhir", "client_id": "c"}], **extra}


def test_by_default_library_forms_are_offered_only_when_nothing_is_assigned():
    assert parse_settings(_valid()).library_forms == "when-nothing-assigned"


@pytest.mark.parametrize("choice", ["always", "when-nothing-assigned", "never"])
def test_each_library_choice_is_accepted(choice):
    assert parse_settings(_valid(library_forms=choice)).library_forms == choice


@pytest.mark.parametrize(("extra", "key", "problem"), [
    ({"library_forms": "sometimes"}, "library_forms", "must be one of always, when-nothing-assigned, never"),
    ({"library_forms": True}, "library_forms", "must be one of"),
])
def test_a_bad_value_names_the_key_and_the_problem(extra, key, problem):
    with pytest.raises(ConfigError) as raised:
        parse_settings(_valid(**extra), "launch.json")
    assert raised.value.key == key and problem in raised.value.problem
    assert str(raised.value).startswith(f"launch.json: {key}: ")
