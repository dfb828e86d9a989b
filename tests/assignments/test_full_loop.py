"""The loop closed, end to end in the sandbox: the clinician asks for PHQ-9, the patient fills and sends it
from the portal, and the clinician's relaunch shows it done with its score."""
from __future__ import annotations

import re

from tests.fixtures.e2e import CLINICIAN, PATIENT
from tests.questionnaire_flow.flow import PHQ9_URL, Browser, csrf, phq9_answers

ORDER_SYSTEM = "http://smart-previsit.example.org/fhir/sid/questionnaire-order"


def _our_task(e2e) -> dict:
    """The one Task the app created for Ana."""
    [task] = [t for t in e2e.sandbox.resources("Task") if t.get("for", {}).get("reference") == f"Patient/{PATIENT}"
              and any(i.get("system") == ORDER_SYSTEM for i in t.get("identifier") or [])]
    return task


def test_the_clinician_sees_the_form_they_asked_for_done_with_its_score(e2e):
    phq9 = e2e.sandbox.first("Questionnaire", lambda q: q.get("url") == PHQ9_URL)
    canonical = f"{PHQ9_URL}|{phq9['version']}" if phq9.get("version") else PHQ9_URL
    doctor = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    page = e2e.page(doctor, "ask?q=PHQ").get_data(as_text=True)
    assert f'value="{canonical}"' in page
    assert e2e.client.post(f"/l/{doctor}/ask", data={"questionnaire": canonical, "csrf_token": csrf(page)}).status_code == 303
    assert _our_task(e2e)["status"] == "requested"

    patient_browser = e2e.new_browser()
    patient = Browser(patient_browser, e2e.launcher.standalone(login=f"Patient/{PATIENT}", client=patient_browser))
    patient.fill_and_send(phq9["id"], phq9_answers([1, 1, 1, 1, 1, 1, 1, 1, 1]))
    task = _our_task(e2e)
    assert task["status"] == "completed"

    relaunch = e2e.launcher.ehr(patient=PATIENT, practitioner=CLINICIAN)
    home = e2e.page(relaunch).get_data(as_text=True)
    line = re.search(r'<li class="request-line request-done" id="request-%s">.*?</li>' % task["id"], home, re.S)
    assert line, home[home.find("asked-heading"):][:2000]
    text = " ".join(re.sub(r"<[^>]+>", " ", line.group(0)).split())
    assert re.search(r"Done \d{1,2} \w+ \d{4}: score 9 of 27, Mild depression", text), text
    assert "Cancel request" not in text
