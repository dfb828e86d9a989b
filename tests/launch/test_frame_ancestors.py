"""CSP frame-ancestors: a launch's pages (and /launch for one iss) may be framed only by that EHR's registered origins."""
from __future__ import annotations

import re

import pytest

from smart_app.store import SessionCache
from tests.fixtures.app import Launcher, registration

EHR_A = "http://127.0.0.1:9999"  # the fake EHR's registered frame ancestor
EHR_B = "https://other-ehr.example.org"


def _ancestors(response) -> set[str]:
    """The frame-ancestors sources of a response's CSP."""
    match = re.search(r"frame-ancestors ([^;]+)", response.headers["Content-Security-Policy"])
    assert match, response.headers["Content-Security-Policy"]
    return set(match.group(1).split())


@pytest.fixture
def two_ehr_app(make_app, fake_ehr):
    """The app registered with the fake EHR (A) and a second EHR (B) with its own frame origin."""
    doc = registration(fake_ehr.base)
    doc["fhir_servers"].append({"iss": EHR_B + "/fhir", "client_id": "previsit-b", "frame_ancestors": [EHR_B]})
    return make_app(registration_doc=doc)


def test_a_launchs_pages_may_be_framed_only_by_its_own_ehr(two_ehr_app, fake_ehr):
    client = two_ehr_app.test_client()
    launcher = Launcher(client, fake_ehr)
    handle, _ = launcher.ehr_launch("p1")
    launcher.serve_patient("p1")
    for path in (f"/l/{handle}/", f"/l/{handle}/style.css"):
        assert _ancestors(client.get(path)) == {"'self'", EHR_A}, path


def test_launch_for_one_iss_may_be_framed_only_by_that_ehr(two_ehr_app, fake_ehr):
    response = two_ehr_app.test_client().get("/launch", query_string={"iss": fake_ehr.base, "launch": "x"})
    assert response.status_code == 302
    assert _ancestors(response) == {"'self'", EHR_A}


def test_pages_of_no_particular_ehr_may_be_framed_by_every_registered_ehr(two_ehr_app):
    client = two_ehr_app.test_client()
    for path in ("/", "/launch?iss=https://unknown.example/fhir", "/l/AAAAAAAAAAAAAAAAAAAAAA/"):
        assert _ancestors(client.get(path)) == {"'self'", EHR_A, EHR_B}, path


def test_static_files_need_no_store_read_for_their_csp(two_ehr_app, fake_ehr, monkeypatch):
    from smart_app.launch.runtime import EXTENSION

    client = two_ehr_app.test_client()
    Launcher(client, fake_ehr).ehr_launch("p1")
    store = two_ehr_app.extensions[EXTENSION].store
    reads: list[tuple] = []
    original = store.get
    monkeypatch.setattr(store, "get", lambda *args, **kwargs: reads.append(args) or original(*args, **kwargs))
    with client.get("/static/app.css") as response:
        assert response.status_code == 200
        assert _ancestors(response) == {"'self'", EHR_A, EHR_B}
    assert [r for r in reads if r[0] != SessionCache.NAMESPACE] == []  # the browser session is opened as always; no launch read
