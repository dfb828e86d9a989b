"""launch.json chooses when library forms are offered and the patients' time zone; bad values say what is wrong."""
from __future__ import annotations

import pytest

from smart_app.config import ConfigError, parse_settings


def _valid(**extra) -> dict:
    return {"client_name": "x", "redirect_uris": ["http://localhost:8000/callback"], "scope": "openid",
            "fhir_servers": [{"iss": "https://ehr.example/fhir", "client_id": "c"}], **extra}


def test_by_default_library_forms_are_offered_only_when_nothing_is_assigned_and_dates_use_utc():
    settings = parse_settings(_valid())
    assert (settings.library_forms, settings.time_zone) == ("when-nothing-assigned", "UTC")


@pytest.mark.parametrize("choice", ["always", "when-nothing-assigned", "never"])
def test_each_library_choice_is_accepted(choice):
    assert parse_settings(_valid(library_forms=choice)).library_forms == choice


@pytest.mark.parametrize(("extra", "key", "problem"), [
    ({"library_forms": "sometimes"}, "library_forms", "must be one of always, when-nothing-assigned, never"),
    ({"library_forms": True}, "library_forms", "must be one of"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "must be an IANA time zone name"),
    ({"time_zone": "../../etc/passwd"}, "time_zone", "must be an IANA time zone name"),
    ({"time_zone": 5}, "time_zone", "must be an IANA time zone name"),
])
def test_a_bad_value_names_the_key_and_the_problem(extra, key, problem):
    with pytest.raises(ConfigError) as raised:
        parse_settings(_valid(**extra), "launch.json")
    assert raised.value.key == key and problem in raised.value.problem
    assert str(raised.value).startswith(f"launch.json: {key}: ")


def test_a_real_zone_is_accepted():
    assert parse_settings(_valid(time_zone="Africa/Lagos")).time_zone == "Africa/Lagos"
