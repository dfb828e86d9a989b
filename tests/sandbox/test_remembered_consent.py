"""The sandbox's approval screen names the app, and an approval is remembered per user, client and scope set (revocable)."""
from __future__ import annotations

import html
import re

import requests

from tests.sandbox.oauth import LAUNCH_JSON, SmartClient, query_of

PATIENT = "Patient/pat-ana"


def _to_approval(client: SmartClient, **overrides: str):
    """Authorize as the patient (login_hint); return the attempt and where it went."""
    attempt = client.authorize(login_hint=PATIENT, **overrides)
    assert attempt.response.status_code == 302, attempt.response.text
    return attempt


def _approve(client: SmartClient, attempt, *, remember: bool) -> None:
    """Allow every listed scope on the approval screen."""
    page = client.follow(attempt)
    txn = query_of(attempt.location)["txn"]
    scopes = re.findall(r'name="scope" value="([^"]+)"', page.text)
    data = {"txn": txn, "decision": "approve", "scope": scopes, **({"remember": "1"} if remember else {})}
    client.submit(attempt, "/auth/approve", data)


def test_the_approval_page_names_the_app_not_the_server(sandbox_server):
    client = SmartClient(sandbox_server)
    attempt = _to_approval(client)
    assert "/auth/approve" in attempt.location
    page = client.follow(attempt).text
    assert f"Allow {LAUNCH_JSON['client_name']} to:" in page
    assert "Local sandbox (offline)" not in page


def test_a_remembered_approval_is_not_asked_again_for_the_same_request_and_can_be_revoked(sandbox_server):
    client = SmartClient(sandbox_server)
    first = _to_approval(client)
    _approve(client, first, remember=True)
    assert "code" in first.callback
    again = _to_approval(client)
    assert "code" in again.callback  # straight back to the app: no approval screen
    granted = client.token(again).json()["scope"].split()
    assert "patient/Patient.r" in granted

    other = _to_approval(client, scope="launch/patient openid fhirUser patient/Patient.r")
    assert "/auth/approve" in other.location  # a different scope set asks again

    dev = requests.get(f"{sandbox_server.base_url}/dev", timeout=10).text
    key = re.search(r'id="remembered-approvals".*?name="key" value="([^"]+)"', dev, re.S).group(1)
    revoked = requests.post(f"{sandbox_server.base_url}/dev/consents/revoke", data={"key": html.unescape(key)},
                            allow_redirects=False, timeout=10)
    assert revoked.status_code == 302
    assert "/auth/approve" in _to_approval(client).location  # asked again after revoking


def test_an_approval_not_marked_to_remember_is_asked_again(sandbox_server):
    client = SmartClient(sandbox_server)
    first = _to_approval(client)
    _approve(client, first, remember=False)
    assert "code" in first.callback
    assert "/auth/approve" in _to_approval(client).location


def test_revoking_from_another_site_is_refused(sandbox_server):
    response = requests.post(f"{sandbox_server.base_url}/dev/consents/revoke", data={"key": "x"},
                             headers={"Origin": "http://evil.example"}, timeout=10)
    assert response.status_code == 403
