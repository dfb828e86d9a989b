"""What a deployment's launch.json changes: a rule switched off, its own crisis contacts, a Flag scope it did not grant."""
from __future__ import annotations

from tests.fixtures.e2e import PATIENT
from tests.questionnaire_flow.flow import Browser, intake_answers, phq9_answers
from tests.safety_flow.helpers import CONFIGURE_ME, NO_REAL_TIME, app_with_safety, audit_events, held, quiet_audit

Q9_POSITIVE = [0, 0, 0, 0, 0, 0, 0, 0, 2]
UK = [{"label": "Call NHS 111 for urgent help", "phone": "111", "for": ["mental-health", "physical-urgent"]},
      {"label": "Call 999 in an emergency", "phone": "999", "for": ["mental-health", "physical-urgent"]},
      {"label": "Call Samaritans, day or night", "phone": "116 123", "for": ["mental-health"]}]


def test_switching_the_phq9_rule_off_stops_both_the_message_and_the_flag(e2e, tmp_path, client_key_paths):
    pair = app_with_safety(e2e, tmp_path, client_key_paths, {"disable": ["phq9-item9-self-harm"]})
    browser = Browser(pair.client, pair.launcher.standalone(login=f"Patient/{PATIENT}"))
    browser.post_form("phq-9", phq9_answers(Q9_POSITIVE))
    review, _ = browser.review("phq-9")
    sid = browser.fill_and_send("phq-9", phq9_answers(Q9_POSITIVE))
    assert NO_REAL_TIME not in review
    assert NO_REAL_TIME not in browser.get(f"submissions/{sid}").get_data(as_text=True)
    found = held(pair.sandbox, sid)
    assert found["Flag"] == [] and len(found["QuestionnaireResponse"]) == 1


def test_configured_contacts_replace_the_defaults_and_the_configure_me_note(e2e, tmp_path, client_key_paths):
    pair = app_with_safety(e2e, tmp_path, client_key_paths, {"crisis_contacts": UK})
    browser = Browser(pair.client, pair.launcher.standalone(login=f"Patient/{PATIENT}"))
    browser.post_form("phq-9", phq9_answers(Q9_POSITIVE))
    review, _ = browser.review("phq-9")
    assert 'href="tel:111"' in review and 'href="tel:999"' in review and 'href="tel:116123"' in review
    assert "Call Samaritans, day or night" in review and "(116 123)" in review
    assert "tel:988" not in review and CONFIGURE_ME not in review


def test_when_flag_is_not_granted_the_answers_and_message_still_go_and_the_gap_is_said(e2e, caplog):
    quiet_audit(caplog)
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=["patient/Flag.c"]))
    browser.post_form("phq-9", phq9_answers(Q9_POSITIVE))
    review, _ = browser.review("phq-9")
    assert NO_REAL_TIME in review
    assert "did not let this app add a note asking your care team to look first" in review
    sid = browser.fill_and_send("phq-9", phq9_answers(Q9_POSITIVE))
    receipt = browser.get(f"submissions/{sid}").get_data(as_text=True)
    assert NO_REAL_TIME in receipt
    found = held(e2e.sandbox, sid)
    assert found["Flag"] == [] and len(found["QuestionnaireResponse"]) == 1
    [event] = audit_events(caplog, "safety.rule_fired")
    assert event["flag_written"] is False and "flag" not in event


def test_blood_pressure_in_the_crisis_range_gets_the_urgent_body_message_and_a_flag(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}"))
    browser.post_form("previsit-intake", intake_answers(systolic="182", diastolic="95"))
    review, _ = browser.review("previsit-intake")
    assert "The blood pressure numbers are very high." in review and 'href="tel:911"' in review
    assert "tel:988" not in review  # the mental-health line is not offered for blood pressure
    sid = browser.fill_and_send("previsit-intake", intake_answers(systolic="182", diastolic="95"))
    [flag] = held(e2e.sandbox, sid)["Flag"]
    assert flag["code"]["coding"][0]["code"] == "bp-hypertensive-crisis"
    assert "Systolic (top number): 182" in flag["code"]["text"]
