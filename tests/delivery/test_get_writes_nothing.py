"""GET never writes to the EHR: not when a page restores answers a dead launch held back, not anywhere
in a full questionnaire and medication-review round (every EHR write comes from a POST)."""
from __future__ import annotations

import json
import logging

from tests.fixtures.e2e import PATIENT
from tests.medication_flow.helpers import Reviewer
from tests.medication_flow.test_faults import SPECIAL
from tests.questionnaire_flow.flow import Browser, csrf, phq9_answers

PARTIAL = {k: v for k, v in list(phq9_answers([2] * 9).items())[:2]}


def _writes_by_endpoint(app, caplog) -> dict[str, set[str]]:
    """The HTTP methods of every endpoint that wrote to the EHR."""
    methods: dict[str, set[str]] = {}
    for record in caplog.records:
        if record.name != "smart_app.audit.events":
            continue
        event = json.loads(record.getMessage())
        if event["event"] == "fhir.write" and event.get("endpoint"):
            rules = [r for r in app.url_map.iter_rules() if r.endpoint == event["endpoint"]]
            methods[event["endpoint"]] = set().union(*(r.methods or set() for r in rules)) - {"HEAD", "OPTIONS"}
    return methods


def test_no_get_writes_to_the_ehr_in_a_full_round_with_a_rescue(e2e, caplog):
    caplog.set_level(logging.INFO, logger="smart_app.audit.events")
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    page = browser.open_form("phq-9").get_data(as_text=True)
    launch_id = e2e.launcher.last_launch_id
    e2e.sandbox.set_fault("expire_token", launch_id=launch_id)
    e2e.sandbox.set_fault("revoke_refresh", launch_id=launch_id)
    died = browser.client.post(browser.url("questionnaires/phq-9"),
                               data={**PARTIAL, "action": "continue", "csrf_token": csrf(page)})
    assert died.status_code == 401
    again = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    assert again.open_form("phq-9").status_code == 200  # restores the held-back answers
    sid = again.fill_and_send("phq-9", phq9_answers([1] * 9))
    assert again.get(f"submissions/{sid}").status_code == 200

    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    assert reviewer.send(reviewer.prepare(SPECIAL)).status_code == 303

    writes = _writes_by_endpoint(e2e.app, caplog)
    assert writes  # the round did write (drafts, submissions)...
    assert {endpoint for endpoint, methods in writes.items() if "GET" in methods} == set()  # ...never from a GET
