"""Ending a session revokes its tokens at the EHR (RFC 7009): the sandbox's own endpoints then reject them."""
from __future__ import annotations

import re
import time

import requests

from smart_app.launch.records import read_launch
from smart_app.launch.runtime import EXTENSION
from tests.fixtures.e2e import CLIENT_ID, PATIENT

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _tokens(e2e, handle: str) -> tuple[str, str]:
    """The launch's access and refresh tokens, as the app stores them."""
    record = read_launch(e2e.app.extensions[EXTENSION].store, handle)
    return record["access_token"], record["refresh_token"]


def _end(e2e, handle: str):
    """Press "End session" on the launch's home page."""
    token = CSRF.search(e2e.page(handle).get_data(as_text=True)).group(1)
    return e2e.client.post(f"/l/{handle}/end", data={"csrf_token": token})


def _fhir_status(sandbox, access_token: str) -> int:
    """The sandbox FHIR API's answer to reading the patient with this token."""
    return requests.get(f"{sandbox.fhir_base}/Patient/{PATIENT}", timeout=10,
                        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"}).status_code


def _refresh_status(sandbox, refresh_token: str) -> int:
    """The sandbox token endpoint's answer to a refresh with this token."""
    return requests.post(f"{sandbox.base_url}/auth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID}).status_code


def test_after_end_session_the_sandbox_rejects_both_tokens(e2e, audit_log):
    handle = e2e.launcher.standalone()
    access, refresh = _tokens(e2e, handle)
    assert _fhir_status(e2e.sandbox, access) == 200  # the token worked before

    ended = _end(e2e, handle)

    assert ended.status_code == 200
    assert "may stay open" not in ended.get_data(as_text=True)
    assert _fhir_status(e2e.sandbox, access) == 401
    assert _refresh_status(e2e.sandbox, refresh) == 400
    events = [r.getMessage() for r in audit_log.records if '"token.revoked"' in r.getMessage()]
    assert [('"refresh_token"' in e, '"access_token"' in e) for e in events] == [(True, False), (False, True)]
    assert not any(access in r.getMessage() or refresh in r.getMessage() for r in audit_log.records)


def test_a_launch_past_its_maximum_age_is_revoked_when_next_seen(e2e):
    handle = e2e.launcher.standalone()
    access, _ = _tokens(e2e, handle)
    e2e.app.extensions[EXTENSION].max_age = -1
    assert e2e.page(handle).status_code == 401
    assert _fhir_status(e2e.sandbox, access) == 401


def test_without_a_revocation_endpoint_the_end_page_says_the_ehr_may_stay_open(launcher, fake_ehr, client, audit_log):
    fake_ehr.serve_discovery()  # the fake EHR advertises no revocation_endpoint
    handle, _ = launcher.ehr_launch()
    launcher.serve_patient("p1")
    token = CSRF.search(client.get(f"/l/{handle}/").get_data(as_text=True)).group(1)
    ended = client.post(f"/l/{handle}/end", data={"csrf_token": token})
    assert ended.status_code == 200
    assert "may stay open until it expires" in ended.get_data(as_text=True)
    assert any("no_revocation_endpoint" in r.getMessage() for r in audit_log.records)


def test_a_failing_revocation_is_audited_and_the_session_still_ends(launcher, fake_ehr, client, audit_log):
    fake_ehr.serve_discovery(revocation_endpoint=fake_ehr.origin + "/auth/revoke")
    fake_ehr.server.expect_request("/auth/revoke", method="POST").respond_with_data("no", status=503)
    handle, _ = launcher.ehr_launch()
    launcher.serve_patient("p1")
    token = CSRF.search(client.get(f"/l/{handle}/").get_data(as_text=True)).group(1)
    ended = client.post(f"/l/{handle}/end", data={"csrf_token": token})
    assert ended.status_code == 200 and "may stay open" in ended.get_data(as_text=True)
    assert client.get(f"/l/{handle}/").status_code == 401
    failed = [r.getMessage() for r in audit_log.records if "token.revoke_failed" in r.getMessage()]
    assert len(failed) == 2 and all("HTTP 503" in m for m in failed)
    revokes = [fake_ehr.form(r) for r in fake_ehr.requests() if r.path == "/auth/revoke"]
    assert [f["token_type_hint"] for f in revokes] == ["refresh_token", "access_token"]
    assert all(f["client_id"] == "previsit-test" for f in revokes)


def test_a_launch_purged_after_idling_out_is_revoked_first(e2e, audit_log):
    # Nobody ends an idle launch: the retention job is the last one to hold its tokens.
    from smart_app.delivery.retention import purge

    handle = e2e.launcher.standalone()
    access, refresh = _tokens(e2e, handle)
    assert _fhir_status(e2e.sandbox, access) == 200

    purge(e2e.app, now=time.time() + 365 * 24 * 3600)  # far past any idle timeout

    assert read_launch(e2e.app.extensions[EXTENSION].store, handle) is None
    assert _fhir_status(e2e.sandbox, access) == 401
    assert _refresh_status(e2e.sandbox, refresh) == 400
    ends = [r.getMessage() for r in audit_log.records if '"launch.end"' in r.getMessage()]
    assert any('"expired"' in e and handle in e for e in ends)
    assert not any(access in r.getMessage() or refresh in r.getMessage() for r in audit_log.records)
