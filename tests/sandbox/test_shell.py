"""The EHR shell: chart with the app framed in a sidebar, chart data, portal and developer page."""
from __future__ import annotations

import html
import re

import pytest
import requests

from sandbox.faults import PRESETS
from tests.sandbox.oauth import LAUNCH_JSON, SmartClient, query_of


def _iframe_src(page: str) -> str:
    """The sidebar iframe's src, unescaped."""
    return html.unescape(re.search(r'<iframe[^>]*src="([^"]+)"', page).group(1))


def test_chart_frames_the_app_with_a_fresh_ehr_launch(sandbox_server):
    encounter = sandbox_server.first("Encounter", lambda e: e.get("status") == "in-progress")
    patient_id = encounter["subject"]["reference"].split("/")[1]
    response = requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient_id}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    src = _iframe_src(response.text)
    assert src.startswith(LAUNCH_JSON["launch_uri"] + "?")
    params = query_of(src)
    assert params["iss"] == sandbox_server.fhir_base
    launch = sandbox_server.auth.store.get_launch(params["launch"])
    assert (launch.patient, launch.encounter, launch.source) == (patient_id, encounter["id"], "ehr")
    assert launch.need_patient_banner is False
    again = _iframe_src(requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient_id}", timeout=10).text)
    assert query_of(again)["launch"] != params["launch"]


def test_chart_shows_its_own_patient_banner(sandbox_server):
    patient = sandbox_server.first("Patient")
    page = requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient['id']}", timeout=10).text
    banner = re.search(r'<section class="patient-banner".*?</section>', page, re.S).group(0)
    assert patient["birthDate"] in banner
    assert patient["id"] in banner


def test_chart_can_launch_the_app_with_a_questionnaire(sandbox_server):
    patient = sandbox_server.first("Patient")
    questionnaire = sandbox_server.first("Questionnaire")
    page = requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient['id']}",
                        params={"questionnaire": f"Questionnaire/{questionnaire['id']}"}, timeout=10).text
    launch = sandbox_server.auth.store.get_launch(query_of(_iframe_src(page))["launch"])
    assert launch.fhir_context() == [{"reference": f"Questionnaire/{questionnaire['id']}"}]


def test_chart_data_panel_shows_write_backs(sandbox_server):
    patient = sandbox_server.first("Patient")
    client = SmartClient(sandbox_server)
    attempt = client.code(login_hint=f"Patient/{patient['id']}", scope="launch/patient patient/QuestionnaireResponse.crus")
    token = client.token(attempt).json()["access_token"]
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "authored": "2026-02-02T09:00:00Z",
          "questionnaire": "http://example.org/Questionnaire/written-back|1.0",
          "subject": {"reference": f"Patient/{patient['id']}"}}
    created = client.fhir(token, "QuestionnaireResponse", "POST", json=qr,
                          headers={"Content-Type": "application/fhir+json"})
    assert created.status_code == 201, created.text
    page = requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient['id']}", timeout=10).text
    panel = re.search(r'<table class="grid" id="questionnaire-responses">.*?</table>', page, re.S).group(0)
    assert "http://example.org/Questionnaire/written-back|1.0" in panel


def test_chart_escapes_text_from_the_record(sandbox_server):
    sandbox_server.store.create({"resourceType": "Patient", "id": "xss-patient",
                                 "name": [{"text": "<img src=x onerror=alert(1)>"}]})
    page = requests.get(f"{sandbox_server.base_url}/ehr/patient/xss-patient", timeout=10).text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_unknown_patient_or_fault_is_refused(sandbox_server):
    patient = sandbox_server.first("Patient")
    assert requests.get(f"{sandbox_server.base_url}/ehr/patient/nobody", timeout=10).status_code == 404
    response = requests.get(f"{sandbox_server.base_url}/ehr/patient/{patient['id']}", params={"fault": "boom"},
                            timeout=10)
    assert response.status_code == 400


def test_portal_links_to_a_standalone_launch(sandbox_server):
    page = requests.get(sandbox_server.base_url + "/portal", timeout=10).text
    link = html.unescape(re.search(r'<a class="button" href="([^"]+)">Prepare for your visit</a>', page).group(1))
    assert link.startswith(LAUNCH_JSON["launch_uri"] + "?")
    assert query_of(link) == {"iss": sandbox_server.fhir_base}


def test_app_launch_url_can_be_overridden(sandbox_factory):
    sandbox = sandbox_factory(app_launch_url="http://localhost:8123/start?x=1")
    page = requests.get(sandbox.base_url + "/portal", timeout=10).text
    link = html.unescape(re.search(r'href="(http://localhost:8123/start[^"]+)"', page).group(1))
    assert query_of(link) == {"x": "1", "iss": sandbox.fhir_base}


def test_developer_page_lists_every_launch_and_fault(sandbox_server):
    page = html.unescape(requests.get(sandbox_server.base_url + "/dev", timeout=10).text)
    for patient in sandbox_server.resources("Patient"):
        assert f"/ehr/patient/{patient['id']}" in page
        assert f"/ehr/launch/{patient['id']}" in page
    assert f"{LAUNCH_JSON['launch_uri']}?iss=" in page
    for name in PRESETS:
        assert f"fault={name}" in page
    assert "smart-previsit" in page  # the app's registered client
    assert "login_hint" in page


@pytest.mark.parametrize("fault", ["fail_write_503", "stale_update"])
def test_developer_page_fault_links_plan_the_fault_for_that_launch(sandbox_server, fault):
    page = html.unescape(requests.get(sandbox_server.base_url + "/dev", timeout=10).text)
    path = re.search(rf'href="(/ehr/patient/[^"]+fault={fault})"', page).group(1)
    chart = requests.get(sandbox_server.base_url + path, timeout=10).text
    launch_id = query_of(_iframe_src(chart))["launch"]
    planned = sandbox_server.faults.pending()
    assert [(f["kind"], f["launch_id"]) for f in planned] == [
        ({"fail_write_503": "status", "stale_update": "stale_update"}[fault], launch_id)]


def test_smart_style_document(sandbox_server):
    style = requests.get(sandbox_server.base_url + "/smart-style.json", timeout=10).json()
    assert style["color_background"].startswith("#")


def test_the_ehr_user_can_switch_clinician_and_the_launch_follows(sandbox_server):
    from sandbox.auth import people

    clinicians = [p for p in people.sign_in_people(sandbox_server.store) if p.kind == "Practitioner"]
    other = clinicians[-1]
    home = html.unescape(requests.get(sandbox_server.base_url + "/ehr/", params={"practitioner": other.id},
                                      timeout=10).text)
    chart_path = re.search(r'href="(/ehr/patient/[^"]+)"', home).group(1)
    assert f"practitioner={other.id}" in chart_path
    chart = requests.get(sandbox_server.base_url + chart_path, timeout=10).text
    launch = sandbox_server.auth.store.get_launch(query_of(_iframe_src(chart))["launch"])
    assert launch.practitioner == other.ref
