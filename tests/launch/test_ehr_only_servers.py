"""An EHR-only server (no `launch-standalone`) gets no standalone link, and a standalone start says why instead of failing at the EHR."""
from __future__ import annotations

from tests.fixtures.fake_ehr import smart_configuration

EHR_ONLY = ["launch-ehr", "client-public", "context-ehr-patient", "permission-v2", "sso-openid-connect"]


def test_start_page_lists_an_ehr_only_server_without_a_standalone_link(client, fake_ehr):
    before = client.get("/").get_data(as_text=True)
    assert "/launch?iss=" in before  # nothing known yet: the link is offered
    fake_ehr.serve_discovery(capabilities=EHR_ONLY)
    client.get("/launch", query_string={"iss": fake_ehr.base, "launch": "l-1"})  # an EHR launch caches discovery
    after = client.get("/").get_data(as_text=True)
    assert "/launch?iss=" not in after and "Open the app from inside this health record system" in after


def test_a_standalone_start_of_an_ehr_only_server_explains_without_redirecting(client, fake_ehr, audit_log):
    fake_ehr.serve_discovery(capabilities=EHR_ONLY)
    response = client.get("/launch", query_string={"iss": fake_ehr.base})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "STANDALONE_UNSUPPORTED" in html
    assert "Location" not in response.headers and "/launch?" not in html


def test_a_server_that_lists_standalone_keeps_its_link(client, fake_ehr):
    fake_ehr.serve_discovery(capabilities=smart_configuration(fake_ehr.base)["capabilities"])
    assert client.get("/launch", query_string={"iss": fake_ehr.base}).status_code == 302
    assert "/launch?iss=" in client.get("/").get_data(as_text=True)
