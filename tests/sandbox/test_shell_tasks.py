"""The EHR shell's chart lists the patient's Tasks with their status, and can launch the app with one as fhirContext."""
from __future__ import annotations

import html
import re

import requests

from tests.sandbox.oauth import query_of

TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"


def _sdc_task(patient: str, status: str, form: str) -> dict:
    """An SDC questionnaire Task as the app (or another EHR tool) writes it."""
    return {"resourceType": "Task", "status": status, "intent": "order", "description": form,
            "code": {"coding": [{"system": TEMP, "code": "complete-questionnaire"}]},
            "for": {"reference": f"Patient/{patient}"}, "owner": {"reference": f"Patient/{patient}"},
            "requester": {"reference": "Practitioner/prac-lee", "display": "Dr Lee"},
            "authoredOn": "2026-01-15T09:00:00Z", "restriction": {"period": {"end": "2026-01-20"}},
            "input": [{"type": {"coding": [{"system": TEMP, "code": "questionnaire"}]},
                       "valueCanonical": "http://example.org/Questionnaire/clinic-intake|1"}]}


def _tasks_table(page: str) -> str:
    """The chart's Tasks table."""
    return re.search(r'<table class="grid" id="tasks">.*?</table>', page, re.S).group(0)


def _iframe_src(page: str) -> str:
    """The sidebar iframe's src, unescaped."""
    return html.unescape(re.search(r'<iframe[^>]*src="([^"]+)"', page).group(1))


def test_the_chart_lists_each_of_the_patients_tasks_with_its_status(sandbox_server):
    store = sandbox_server.store
    mine = store.create(_sdc_task("pat-ana", "requested", "Clinic intake <b>form</b>"))
    done = store.create(_sdc_task("pat-ana", "cancelled", "Sleep diary"))
    other = store.create(_sdc_task("pat-ben", "requested", "Someone else's form"))
    table = _tasks_table(requests.get(f"{sandbox_server.base_url}/ehr/patient/pat-ana", timeout=10).text)
    rows = dict(re.findall(r'<tr><td>([^<]+)</td>.*?<td class="task-status">([^<]+)</td>', table, re.S))
    assert rows == {mine["id"]: "requested", done["id"]: "cancelled"}
    assert other["id"] not in table
    assert "Clinic intake &lt;b&gt;form&lt;/b&gt;" in table  # EHR text is escaped
    assert "Dr Lee" in table and "2026-01-20" in table


def test_the_chart_launches_the_app_with_a_task_as_fhir_context(sandbox_server):
    task = sandbox_server.store.create(_sdc_task("pat-ana", "requested", "Clinic intake"))
    page = requests.get(f"{sandbox_server.base_url}/ehr/patient/pat-ana", params={"task": f"Task/{task['id']}"},
                        timeout=10).text
    launch = sandbox_server.auth.store.get_launch(query_of(_iframe_src(page))["launch"])
    assert launch.fhir_context() == [{"reference": f"Task/{task['id']}"}]


def test_a_task_of_another_patient_cannot_become_a_launchs_context(sandbox_server):
    task = sandbox_server.store.create(_sdc_task("pat-ben", "requested", "Clinic intake"))
    response = requests.get(f"{sandbox_server.base_url}/ehr/patient/pat-ana", params={"task": f"Task/{task['id']}"},
                            timeout=10)
    assert response.status_code == 400
