"""`iss_template`: one registration entry for every iss of a fixed shape; only `{code}` varies, and only within [A-Za-z0-9_-]{1,2048}."""
from __future__ import annotations

import pytest

from smart_app.config import ConfigError, parse_settings, template_matches
from tests.fixtures.app import registration

TEMPLATE = "https://launch.smarthealthit.org/v/r4/sim/{code}/fhir"


def _settings(**entry):
    """Settings with one template entry (and no fixed iss unless given)."""
    doc = registration("https://unused.example.org/fhir")
    doc["fhir_servers"][0].pop("iss")
    doc["fhir_servers"][0].update({"iss_template": TEMPLATE, **entry})
    return parse_settings(doc)


@pytest.mark.parametrize("iss, matches", [
    ("https://launch.smarthealthit.org/v/r4/sim/eyJhIjoxfQ/fhir", True),
    ("https://launch.smarthealthit.org/v/r4/sim/a_b-C9/fhir", True),
    ("https://launch.smarthealthit.org/v/r4/sim/" + "x" * 2048 + "/fhir", True),
    ("https://launch.smarthealthit.org/v/r4/sim/" + "x" * 2049 + "/fhir", False),
    ("https://launch.smarthealthit.org/v/r4/sim//fhir", False),
    ("https://launch.smarthealthit.org/v/r4/sim/a/b/fhir", False),
    ("https://launch.smarthealthit.org/v/r4/sim/a.b/fhir", False),
    ("https://launch.smarthealthit.org/v/r4/sim/a%2Fb/fhir", False),
    ("https://launch.smarthealthit.org/v/r4/sim/abc/fhir/", False),
    ("https://launch.smarthealthit.org/v/r4/sim/abc/fhir?x=1", False),
    ("https://launch.smarthealthit.org.evil.example/v/r4/sim/abc/fhir", False),
    ("http://launch.smarthealthit.org/v/r4/sim/abc/fhir", False),
    ("https://LAUNCH.smarthealthit.org/v/r4/sim/abc/fhir", False),
])
def test_only_the_code_may_vary(iss, matches):
    assert template_matches(TEMPLATE, iss) is matches
    assert (_settings().server_for(iss) is not None) is matches


def test_a_matched_iss_is_that_entry_pinned_to_the_exact_value_and_cached():
    settings = _settings(client_id="launcher-app")
    iss = "https://launch.smarthealthit.org/v/r4/sim/abc/fhir"
    server = settings.server_for(iss)
    assert (server.iss, server.client_id, server.iss_template) == (iss, "launcher-app", TEMPLATE)
    assert settings.server_for(iss) is server
    assert settings.concrete_servers == ()  # nothing to probe or link to without a code


@pytest.mark.parametrize("template", [
    "https://launch.smarthealthit.org/v/r4/sim/fhir",              # no {code}
    "https://launch.smarthealthit.org/{code}/{code}/fhir",         # two
    "https://{code}.smarthealthit.org/fhir",                       # in the host
    "https://launch.smarthealthit.org{code}/fhir",                 # straight after the origin
    "https://launch.smarthealthit.org/v/{code}/fhir?x=1",          # a query
    "http://launch.smarthealthit.org/v/r4/sim/{code}/fhir",        # plain http off loopback
])
def test_a_template_that_could_reach_another_server_is_refused(template):
    with pytest.raises(ConfigError, match="iss_template"):
        _settings(iss_template=template)


def test_an_unmatched_iss_gets_no_request_and_a_matched_one_is_audited(make_app, fake_ehr, audit_log):
    doc = registration(fake_ehr.base)
    doc["fhir_servers"][0]["iss_template"] = fake_ehr.base.replace("/fhir", "/sim/{code}/fhir")
    app = make_app(doc)
    before = len(fake_ehr.requests())
    assert app.test_client().get("/launch", query_string={"iss": fake_ehr.base.replace("/fhir", "/sim/a.b/fhir")}).status_code == 400
    assert len(fake_ehr.requests()) == before
    matched = fake_ehr.base.replace("/fhir", "/sim/abc/fhir")
    app.test_client().get("/launch", query_string={"iss": matched})  # discovery at that exact iss (the fake has none)
    assert [r.path for r in fake_ehr.requests()[before:]][0] == "/sim/abc/fhir/.well-known/smart-configuration"
    events = [r.getMessage() for r in audit_log.records if '"launch.received"' in r.getMessage()]
    assert len(events) == 1 and matched in events[0] and "iss_template" in events[0]


def test_the_discovery_cache_stays_bounded_however_many_codes_arrive(monkeypatch):
    from smart_app.launch import discovery

    monkeypatch.setattr(discovery, "MAX_CACHED", 3)
    monkeypatch.setattr(discovery, "discover", lambda iss, http: discovery.SmartConfiguration(
        iss=iss, authorization_endpoint=iss + "/a", token_endpoint=iss + "/t"))
    cache = discovery.DiscoveryCache()
    isses = [TEMPLATE.replace("{code}", f"c{i}") for i in range(5)]
    for iss in isses:
        cache.get(iss, lambda: _NoSession())
    assert [cache.peek(iss) is not None for iss in isses] == [False, False, True, True, True]


class _NoSession:
    """A stand-in session factory result (discover is replaced, so it is never used)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
