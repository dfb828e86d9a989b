"""An iss that is not exactly registered is refused before any network I/O."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest


def look_alikes(base: str) -> list[str]:
    """Variants of a registered iss that must not match it."""
    parts = urlsplit(base)
    port = parts.port
    return [
        base + "/",                                        # trailing slash
        base + "/r4",                                      # different path
        base.rsplit("/fhir", 1)[0] + "/FHIR",              # case in path
        base.replace("/fhir", "/fhir/../fhir"),            # dot segments
        f"http://localhost:{port}/fhir",                   # other name for the same host
        f"http://127.0.0.1.nip.io:{port}/fhir",             # DNS look-alike
        f"http://0x7f000001:{port}/fhir",                  # IP literal in hex
        f"http://2130706433:{port}/fhir",                  # IP literal as integer
        f"http://[::1]:{port}/fhir",                       # IPv6 loopback literal
        f"http://user@127.0.0.1:{port}/fhir",              # userinfo@host
        f"http://127.0.0.1:{port}@evil.example/fhir",      # host hidden after userinfo
        f"https://127.0.0.1:{port}/fhir",                  # scheme
        base + "?x=1",                                     # query
        base + "#frag",                                    # fragment
        " " + base,                                        # whitespace
        base.upper(),                                      # case everywhere
        "https://evil.example/fhir",
    ]


def test_look_alikes_are_rejected_with_zero_outbound_requests(client, fake_ehr):
    variants = look_alikes(fake_ehr.base)
    for iss in variants:
        response = client.get("/launch", query_string={"iss": iss, "launch": "l1"})
        assert response.status_code == 400, iss
        assert "not registered" in response.get_data(as_text=True), iss
    assert fake_ehr.requests() == []


@pytest.mark.parametrize("query", [{}, {"iss": ""}, {"launch": "l1"}])
def test_missing_iss_is_rejected_without_network(client, fake_ehr, query):
    response = client.get("/launch", query_string=query)
    assert response.status_code == 400
    assert "MISSING_ISSUER" in response.get_data(as_text=True)
    assert fake_ehr.requests() == []


def test_unknown_iss_does_not_start_a_browser_session(client, fake_ehr):
    response = client.get("/launch", query_string={"iss": "https://evil.example/fhir"})
    assert "Set-Cookie" not in response.headers


def test_registered_iss_is_the_only_one_accepted(client, fake_ehr):
    response = client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "l1"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(fake_ehr.authorize_endpoint + "?")
