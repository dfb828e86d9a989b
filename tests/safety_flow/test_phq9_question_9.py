"""PHQ-9 question 9 answered "Several days" in the sandbox: the patient is told who to call, the chart gets one Flag."""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, codes, csrf, phq9_answers
from tests.safety_flow.helpers import CONFIGURE_ME, NO_REAL_TIME, audit_events, flag_points_at, held, quiet_audit

SEVERAL_DAYS_ON_Q9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]


def patient_sends(e2e, points):
    """A patient fills PHQ-9 with these points; returns (browser, review html, submission id)."""
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    assert browser.post_form("phq-9", phq9_answers(points)).status_code == 303
    html, _ = browser.review("phq-9")
    return browser, html, browser.fill_and_send("phq-9", phq9_answers(points))


def test_review_and_receipt_show_the_calm_message_with_the_default_contacts(e2e):
    browser, review, sid = patient_sends(e2e, SEVERAL_DAYS_ON_Q9)
    for page in (review, browser.get(f"submissions/{sid}").get_data(as_text=True)):
        assert NO_REAL_TIME in page
        assert 'href="tel:988"' in page and 'href="tel:911"' in page
        assert CONFIGURE_ME in page
        assert "care team will see" in page
    assert "Send to my care team" in review  # the message never takes the send button away


def test_the_ehr_holds_the_response_the_score_and_one_flag_pointing_at_the_response(e2e):
    _, _, sid = patient_sends(e2e, SEVERAL_DAYS_ON_Q9)
    found = held(e2e.sandbox, sid)
    [qr] = found["QuestionnaireResponse"]
    [score] = found["Observation"]
    [flag] = found["Flag"]
    [provenance] = found["Provenance"]
    assert codes(score) == {"44261-6"} and score["valueQuantity"]["value"] == 1
    assert flag["status"] == "active"
    assert flag["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert flag_points_at(flag) == f"QuestionnaireResponse/{qr['id']}"
    assert flag["code"]["coding"][0]["code"] == "phq9-item9-self-harm"
    assert "Several days" in flag["code"]["text"] and "better off dead" in flag["code"]["text"]
    assert flag["period"]["start"] == qr["authored"]
    assert f"Flag/{flag['id']}" in {t["reference"] for t in provenance["target"]}


def test_sending_again_writes_nothing_twice(e2e):
    browser, _, sid = patient_sends(e2e, SEVERAL_DAYS_ON_Q9)
    page = browser.get(f"submissions/{sid}").get_data(as_text=True)
    response = browser.client.post(browser.url(f"submissions/{sid}/retry"), data={"csrf_token": csrf(page)})
    assert response.status_code == 303
    found = held(e2e.sandbox, sid)
    assert [len(found[t]) for t in ("QuestionnaireResponse", "Observation", "Flag", "Provenance")] == [1, 1, 1, 1]


def test_not_at_all_on_question_9_shows_no_message_and_writes_no_flag(e2e):
    browser, review, sid = patient_sends(e2e, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    assert NO_REAL_TIME not in review
    assert NO_REAL_TIME not in browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert held(e2e.sandbox, sid)["Flag"] == []


def test_the_audit_trail_names_the_rule_and_the_resources_never_the_answer(e2e, caplog):
    quiet_audit(caplog)
    _, _, sid = patient_sends(e2e, SEVERAL_DAYS_ON_Q9)
    found = held(e2e.sandbox, sid)
    [event] = audit_events(caplog, "safety.rule_fired")
    assert event["rule"] == "phq9-item9-self-harm"
    assert event["submission_id"] == sid
    assert event["questionnaire_response"] == f"QuestionnaireResponse/{found['QuestionnaireResponse'][0]['id']}"
    assert event["flag"] == f"Flag/{found['Flag'][0]['id']}" and event["flag_written"] is True
    assert "Several days" not in caplog.text and "better off dead" not in caplog.text


def test_the_sandbox_chart_shows_the_flag(e2e):
    import requests
    _, _, sid = patient_sends(e2e, SEVERAL_DAYS_ON_Q9)
    [flag] = held(e2e.sandbox, sid)["Flag"]
    chart = requests.get(f"{e2e.sandbox.base_url}/ehr/patient/{PATIENT}", timeout=10).text
    flags_table = chart[chart.index('id="flags"'):chart.index('id="questionnaire-responses"')]
    assert flag["id"] in flags_table and "Thoughts of self-harm" in flags_table
