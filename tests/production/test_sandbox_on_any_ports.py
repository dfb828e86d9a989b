"""`smart-app sandbox --port A --sandbox-port B` (what `.ci/serve` runs) works end to end with the shipped launch.json.

The command is started as a fresh clone would run it: the repository's own launch.json, no
edits, two free ports that are not the defaults. A browser (a `requests` session) then goes
through the patient portal's standalone launch and the EHR shell's sidebar launch.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.production.test_cli import _stop
from tests.production.test_serving import ROOT, _free_port

TIMEOUT = 10
HANDLE_PATH = re.compile(r"^/l/[A-Za-z0-9_-]+/$")


@pytest.fixture
def running_pair(tmp_path: Path, database_env: dict[str, str]) -> Iterator[tuple[int, int, str]]:
    """The sandbox command on two free ports; yields (app port, sandbox port, its printed output so far)."""
    app_port, sandbox_port = _free_port(), _free_port()
    env = {**os.environ, "SMART_APP_INSTANCE": str(tmp_path / "instance"), "SMART_APP_SECRET_KEY": "ports-test",
           **database_env}
    env.pop("SMART_APP_CONFIG", None)  # the shipped launch.json, as in a fresh clone
    process = subprocess.Popen(
        [sys.executable, "-m", "smart_app.cli", "sandbox", "--port", str(app_port), "--sandbox-port", str(sandbox_port),
         "--sandbox-db", str(tmp_path / "ehr.sqlite3"), "--audit-log", str(tmp_path / "audit.log")],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = []
    assert process.stdout is not None
    for line in process.stdout:  # it prints the URLs once both servers listen
        printed.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    else:
        _stop(process)
        raise AssertionError("the sandbox command did not start:\n" + "".join(printed))
    # Keep draining its output (request logs) so a full pipe never blocks the servers.
    drain = threading.Thread(target=lambda: printed.extend(process.stdout), daemon=True)
    drain.start()
    try:
        yield app_port, sandbox_port, "".join(printed)
    finally:
        status = _stop(process)
        drain.join(timeout=10)
        process.stdout.close()
        assert status == 0, "".join(printed)


def _browser() -> requests.Session:
    """A cookie-keeping browser for both sites."""
    session = requests.Session()

    def loopback_is_secure(response: requests.Response, *args: object, **kwargs: object) -> None:
        """Browsers send Secure cookies to http://localhost (a secure context); requests would not."""
        for cookie in session.cookies:
            cookie.secure = False

    session.hooks["response"].append(loopback_is_secure)
    return session


def _query(url: str) -> dict[str, str]:
    """Single-valued query parameters."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _sign_in(browser: requests.Session, launch_url: str, sandbox: str, *, login: str | None,
             headers: dict[str, str] | None = None) -> requests.Response:
    """Follow the app's /launch through the sandbox's screens to the app's launch home page."""
    response = browser.get(launch_url, allow_redirects=False, timeout=TIMEOUT, headers=headers)
    assert response.status_code == 302, response.text[:500]
    scopes = _query(response.headers["Location"])["scope"].split()
    response = browser.get(response.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    for _ in range(5):
        assert response.status_code in (302, 303), response.text[:500]
        location = response.headers["Location"]
        url = location if location.startswith("http") else sandbox + location
        if not url.startswith(sandbox):
            break
        path, txn = urlsplit(url).path, _query(url)["txn"]
        if path == "/auth/login":
            response = browser.post(sandbox + path, data={"txn": txn, "user": login}, allow_redirects=False, timeout=TIMEOUT)
        else:
            assert path == "/auth/approve", path
            response = browser.post(sandbox + path, data={"txn": txn, "decision": "approve", "scope": scopes},
                                    allow_redirects=False, timeout=TIMEOUT)
    callback = browser.get(url, allow_redirects=False, timeout=TIMEOUT, headers=headers)
    assert callback.status_code == 303, callback.text[:500]
    for cookie in browser.cookies:  # the callback's new session cookie (rotated at sign-in) is only now in the jar
        cookie.secure = False
    home = browser.get(urlsplit(url)._replace(path=callback.headers["Location"], query="").geturl(), timeout=TIMEOUT,
                       headers=headers)
    assert home.status_code == 200 and HANDLE_PATH.match(urlsplit(home.url).path)
    return home


def test_sandbox_command_on_other_ports_runs_the_portal_and_ehr_launches_with_the_shipped_launch_json(running_pair, tmp_path):
    app_port, sandbox_port, printed = running_pair
    app, sandbox = f"http://localhost:{app_port}", f"http://127.0.0.1:{sandbox_port}"
    fhir_base = f"{sandbox}/fhir"

    # It printed, and wrote to the instance folder, the registration it runs with: every local URL on the new ports.
    effective = json.loads((tmp_path / "instance" / "launch.effective.json").read_text())
    assert effective["launch_uri"] == f"{app}/launch" and effective["redirect_uris"][0] == f"{app}/callback"
    assert effective["jwks_uri"] == f"{app}/.well-known/jwks.json"
    local = [s for s in effective["fhir_servers"] if s["iss"].startswith("http://127.0.0.1")]
    assert [(s["iss"], s["frame_ancestors"]) for s in local] == [(fhir_base, [sandbox])]
    assert f'"iss": "{fhir_base}"' in printed and f"{sandbox}/portal" in printed and f"{app}/" in printed
    shipped = json.loads((ROOT / "launch.json").read_text())
    assert shipped["launch_uri"] == "http://localhost:8000/launch"  # the file itself was not edited

    # The patient portal links to the app on its port, with the sandbox's iss on its port.
    browser = _browser()
    portal = browser.get(f"{sandbox}/portal", timeout=TIMEOUT).text
    link = html.unescape(re.search(r'href="([^"]+)">Prepare for your visit', portal).group(1))
    assert link == f"{app}/launch?{urlencode({'iss': fhir_base})}"
    home = _sign_in(browser, link, sandbox, login="Patient/pat-ana")
    assert "Ana" in home.text

    # The EHR shell's sidebar launches the app on its port; the app lets exactly that EHR frame it.
    clinician = _browser()
    chart = clinician.get(f"{sandbox}/ehr/patient/pat-ana", timeout=TIMEOUT).text
    src = html.unescape(re.search(r'<iframe[^>]+src="([^"]+)"', chart).group(1))
    assert src.startswith(f"{app}/launch?") and _query(src)["iss"] == fhir_base and _query(src)["launch"]
    framed = {"Sec-Fetch-Dest": "iframe"}
    home = _sign_in(clinician, src, sandbox, login=None, headers=framed)
    ancestors = re.search(r"frame-ancestors ([^;]+)", home.headers["Content-Security-Policy"]).group(1).split()
    assert sandbox in ancestors and "http://127.0.0.1:9090" not in ancestors

    audit = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [e.get("mode") for e in audit if e["event"] == "callback.ok"] == ["standalone", "ehr"]
