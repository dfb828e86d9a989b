"""Faults while sending: each ends with exactly one correct set of resources and no answer lost."""
from __future__ import annotations

import threading

import pytest

from sandbox.contracts import PlannedFault
from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, csrf, intake_answers, phq9_answers, stored

POINTS = [3, 3, 3, 3, 3, 3, 3, 3, 3]  # total 27


def _ready(e2e, key="phq-9", fields=None, mirrored=True):
    """An EHR launch with a valid draft on the review page; returns (browser, review html, submission id).

    mirrored=False: the EHR is down while the draft is saved, so the draft lives only in the app
    and sending is the transaction alone (the faults then hit the transaction, not the draft's
    completion in place).
    """
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    if not mirrored:
        e2e.sandbox.set_fault("fail_writes", status=500, count=4)  # the draft create and its 3 retries
    response = browser.post_form(key, fields or phq9_answers(POINTS))
    assert response.status_code == 303
    assert e2e.sandbox.faults.pending() == []
    html, sid = browser.review(key)
    drafts = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert [d["status"] for d in drafts] == (["in-progress"] if mirrored else [])
    return browser, html, sid


def _fired(e2e):
    """Every planned fault was used."""
    assert e2e.sandbox.faults.pending() == []


def _send(browser, html, sid, key="phq-9"):
    """POST the review page's send form."""
    return browser.client.post(browser.url(f"questionnaires/{key}/send"),
                               data={"submission_id": sid, "csrf_token": csrf(html)})


def _exactly_one_set(e2e, sid, observations=1):
    """One QR (completed), `observations` Observations and one Provenance for the submission."""
    found = stored(e2e.sandbox, sid)
    assert len(found["QuestionnaireResponse"]) == 1
    assert found["QuestionnaireResponse"][0]["status"] == "completed"
    assert len(found["Observation"]) == observations
    assert len(found["Provenance"]) == 1
    return found


def test_double_submit_and_browser_repost_store_one_set(e2e):
    browser, html, sid = _ready(e2e)
    first = _send(browser, html, sid)
    again = _send(browser, html, sid)  # the browser re-POSTs the same form
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    _exactly_one_set(e2e, sid)


def test_two_clicks_at_once_store_one_set(e2e):
    browser, html, sid = _ready(e2e)
    e2e.sandbox.set_fault("latency", delay_ms=300, count=2, writes_only="true")
    results = []
    threads = [threading.Thread(target=lambda: results.append(_send(browser, html, sid))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # pytest-timeout is the hang guard: a send can take long on a loaded machine
    assert [r.status_code for r in results] == [303, 303]
    _exactly_one_set(e2e, sid)
    assert "Saved to the chart" in browser.get(f"submissions/{sid}").get_data(as_text=True)


@pytest.mark.parametrize("mirrored", [True, False])
def test_response_lost_after_commit_is_resent_without_a_duplicate(e2e, mirrored):
    browser, html, sid = _ready(e2e, mirrored=mirrored)
    # Mirrored: the transaction also completes the draft (versioned PUT); its replay meets our own new
    # version (412), the draft reads as completed by us, so the conditional bundle fetches the receipt.
    e2e.sandbox.set_fault("drop_after_commit", count=1)
    assert _send(browser, html, sid).status_code == 303
    _fired(e2e)
    _exactly_one_set(e2e, sid)
    assert "Saved to the chart" in browser.get(f"submissions/{sid}").get_data(as_text=True)


@pytest.mark.parametrize("mirrored", [True, False])
def test_503_with_a_short_retry_after_is_waited_out(e2e, mirrored):
    browser, html, sid = _ready(e2e, mirrored=mirrored)
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=1, count=1)
    assert _send(browser, html, sid).status_code == 303
    _fired(e2e)
    _exactly_one_set(e2e, sid)


def test_503_with_a_long_retry_after_stays_pending_then_a_manual_retry_sends_it(e2e):
    browser, html, sid = _ready(e2e, mirrored=False)
    e2e.sandbox.set_fault("fail_writes", status=503, retry_after=120, count=1)
    assert _send(browser, html, sid).status_code == 303
    _fired(e2e)
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not sent yet" in page and "kept safely" in page
    assert stored(e2e.sandbox, sid)["Observation"] == []
    retry = browser.client.post(browser.url(f"submissions/{sid}/retry"), data={"csrf_token": csrf(page)})
    assert retry.status_code == 303
    _exactly_one_set(e2e, sid)
    assert "Saved to the chart" in browser.get(f"submissions/{sid}").get_data(as_text=True)


def test_401_mid_submit_refreshes_once_and_sends(e2e):
    browser, html, sid = _ready(e2e)
    assert e2e.sandbox.set_fault("expire_token", launch_id=e2e.launcher.last_launch_id)["affected"] >= 1
    assert _send(browser, html, sid).status_code == 303
    _fired(e2e)
    _exactly_one_set(e2e, sid)


def test_422_fails_with_a_plain_reason_keeps_the_answers_and_a_retry_sends_once(e2e):
    browser, html, sid = _ready(e2e, mirrored=False)
    e2e.sandbox.faults.plan(PlannedFault(kind="status", status=422))
    assert _send(browser, html, sid).status_code == 303
    _fired(e2e)
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not sent." in page and "did not accept some answers" in page
    assert stored(e2e.sandbox, sid)["Observation"] == []
    retry = browser.client.post(browser.url(f"submissions/{sid}/retry"), data={"csrf_token": csrf(page)})
    assert retry.status_code == 303
    _exactly_one_set(e2e, sid)


def test_without_observation_write_scope_only_the_response_and_provenance_are_written(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT, exclude_scopes={"patient/Observation.c"}))
    assert browser.post_form("previsit-intake", intake_answers()).status_code == 303
    html, sid = browser.review("previsit-intake")
    assert "did not allow this app to save separate results" in html
    assert _send(browser, html, sid, key="previsit-intake").status_code == 303
    found = _exactly_one_set(e2e, sid, observations=0)
    [provenance] = found["Provenance"]
    assert provenance["target"] == [{"reference": f"QuestionnaireResponse/{found['QuestionnaireResponse'][0]['id']}"}]
    receipt = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert "Not saved, because the app was not allowed to: Observation" in receipt


def test_after_a_failed_send_the_corrected_resend_completes_the_same_ehr_draft(e2e):
    browser, html, sid = _ready(e2e)  # mirrored: an in-progress response exists on the EHR
    [draft_copy] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    e2e.sandbox.faults.plan(PlannedFault(kind="status", status=422))
    _send(browser, html, sid)
    _fired(e2e)
    new_sid = browser.fill_and_send("phq-9", phq9_answers([0] * 9))
    assert new_sid != sid
    mine = [r for r in e2e.sandbox.resources("QuestionnaireResponse")
            if r["subject"]["reference"] == f"Patient/{PATIENT}" and "phq-9" in r.get("questionnaire", "")]
    assert [(r["id"], r["status"], r["identifier"]["value"]) for r in mine] == [(draft_copy["id"], "completed", new_sid)]
    _exactly_one_set(e2e, new_sid)
