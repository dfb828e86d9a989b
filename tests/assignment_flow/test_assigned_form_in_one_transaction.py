"""A server with transactions: the Task update is a PUT with If-Match inside the one transaction that
writes the response, so the EHR never holds one without the other."""
from __future__ import annotations

import pytest

from smart_app.ehr import client as fhir
from tests.questionnaire_flow.flow import SYSTEM, csrf

from .test_assigned_form_on_a_server_without_transactions import ANSWERS, _launch


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    """The capability cache is per base URL; the fake EHR's URL is shared across tests."""
    fhir.clear_capabilities_cache()
    yield
    fhir.clear_capabilities_cache()


def test_the_task_put_with_if_match_is_an_entry_of_the_responses_transaction(client, launcher, fake_ehr):
    browser, ehr = _launch(launcher, fake_ehr, status="in-progress", transactions=True)
    sid = browser.fill_and_send("mood-check", ANSWERS)
    [bundle] = ehr.transactions
    entries = [(e["request"]["method"], e["resource"]["resourceType"]) for e in bundle["entry"]]
    assert entries == [("POST", "QuestionnaireResponse"), ("POST", "Provenance"), ("PUT", "Task")]
    qr_entry, _, task_entry = bundle["entry"]
    assert task_entry["request"] == {"method": "PUT", "url": "Task/t1", "ifMatch": 'W/"1"'}
    [output] = task_entry["resource"]["output"]
    assert output["valueReference"]["reference"] == qr_entry["fullUrl"]  # resolved by the server
    assert ehr.task["status"] == "completed"
    assert ehr.task["output"][0]["valueReference"]["reference"] == "QuestionnaireResponse/1"
    assert ehr.task["output"][0]["valueReference"]["identifier"] == {"system": SYSTEM, "value": sid}


def test_a_412_undoes_the_whole_transaction_and_the_resend_against_the_new_version_completes_once(
        client, launcher, fake_ehr):
    browser, ehr = _launch(launcher, fake_ehr, status="in-progress", transactions=True)
    browser.post_form("mood-check", ANSWERS)
    html, sid = browser.review("mood-check")
    # The send takes the Task from its page's one read wave; a clinician edits it right after that
    # search, so the PUT in the transaction names a version that is no longer current.
    ehr.change_after_next_search(description="Please also note any fever")
    reads = ehr.reads
    sent = browser.client.post(browser.url("questionnaires/mood-check/send"), data={"submission_id": sid, "csrf_token": csrf(html)})
    assert sent.status_code == 303
    assert ehr.reads == reads + 1  # read by id only once refused: the check before the send used its search
    matches = [next(e for e in b["entry"] if e["request"]["method"] == "PUT")["request"]["ifMatch"]
               for b in ehr.transactions]
    assert matches == ['W/"1"', 'W/"2"']  # refused as a whole, read again, sent against the new version
    assert ehr.task["status"] == "completed" and ehr.task["description"] == "Please also note any fever"
    assert len([c for c in ehr.created.values() if c["resourceType"] == "QuestionnaireResponse"]) == 1
