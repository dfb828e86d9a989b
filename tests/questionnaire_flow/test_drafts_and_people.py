"""Drafts survive token expiry, conflicts and relaunch; caregivers, read-only launches and two tabs."""
from __future__ import annotations

import re

from tests.fixtures.e2e import CAREGIVER, CHILD, OTHER_PATIENT, PATIENT
from tests.questionnaire_flow.flow import LOINC, OPTIONS, Browser, csrf, phq9_answers, stored

PARTIAL = {"q.phq9-q1.0": f"{LOINC}|{OPTIONS[2]}", "q.phq9-q2.0": f"{LOINC}|{OPTIONS[1]}"}


def _checked(html: str, value: str, name: str) -> bool:
    """True when the radio with this name and value is checked."""
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return "checked" in tag
    raise AssertionError(f"no input {name}={value}")


def test_continue_saves_a_draft_and_shows_errors_next_to_the_missing_answers(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    response = browser.post_form("phq-9", PARTIAL, action="continue")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Draft saved to the chart" in html
    assert "Please check 7 answers" in html
    assert _checked(html, f"{LOINC}|{OPTIONS[2]}", "q.phq9-q1.0")
    [draft] = [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"]
    assert [i["linkId"] for i in draft["item"][0]["item"]] == ["phq9-q1", "phq9-q2"]
    assert draft["item"][1] == {"linkId": "phq9-total", "text": draft["item"][1]["text"], "answer": [{"valueInteger": 3}]}


def test_submit_with_missing_answers_stays_on_the_form_with_an_error_summary(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    response = browser.post_form("phq-9", PARTIAL, action="submit")
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert browser.get("questionnaires/phq-9/review").status_code == 303  # not reviewable yet


def test_draft_resumes_after_relaunch_for_the_same_patient_and_user(e2e):
    first = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    first.post_form("phq-9", PARTIAL, action="continue")
    second = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    assert second.handle != first.handle
    html = second.open_form("phq-9").get_data(as_text=True)
    assert _checked(html, f"{LOINC}|{OPTIONS[2]}", "q.phq9-q1.0")
    assert _checked(html, f"{LOINC}|{OPTIONS[1]}", "q.phq9-q2.0")
    other = Browser(e2e.client, e2e.launcher.ehr(patient=OTHER_PATIENT))
    assert not _checked(other.open_form("phq-9").get_data(as_text=True), f"{LOINC}|{OPTIONS[2]}", "q.phq9-q1.0")


def test_token_expiry_mid_form_loses_nothing(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    page = browser.open_form("phq-9").get_data(as_text=True)
    assert e2e.sandbox.set_fault("expire_token", launch_id=e2e.launcher.last_launch_id)["affected"] >= 1
    response = browser.client.post(browser.url("questionnaires/phq-9"),
                                   data={**phq9_answers([1] * 9), "action": "submit", "csrf_token": csrf(page)})
    assert response.status_code == 303
    sid = browser.fill_and_send("phq-9", phq9_answers([1] * 9))
    [qr] = stored(e2e.sandbox, sid)["QuestionnaireResponse"]
    assert len(qr["item"][0]["item"]) == 9
    assert qr["item"][1]["answer"] == [{"valueInteger": 9}]  # the calculated total


def test_a_draft_changed_elsewhere_is_reloaded_and_the_user_asked_to_check(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    browser.post_form("phq-9", PARTIAL, action="continue")
    e2e.sandbox.set_fault("stale_update")
    conflicted = browser.post_form("phq-9", {**PARTIAL, "q.phq9-q3.0": f"{LOINC}|{OPTIONS[3]}"}, action="continue")
    html = conflicted.get_data(as_text=True)
    assert "changed somewhere else" in html
    assert _checked(html, f"{LOINC}|{OPTIONS[3]}", "q.phq9-q3.0")  # what was typed stays on the page
    saved = browser.post_form("phq-9", {**PARTIAL, "q.phq9-q3.0": f"{LOINC}|{OPTIONS[3]}"}, action="continue")
    assert "Draft saved to the chart" in saved.get_data(as_text=True)
    [draft] = [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"]
    assert [i["linkId"] for i in draft["item"][0]["item"]][:3] == ["phq9-q1", "phq9-q2", "phq9-q3"]


def test_two_tabs_with_two_patients_keep_their_answers_apart(e2e):
    ana = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    ben = Browser(e2e.client, e2e.launcher.ehr(patient=OTHER_PATIENT))
    ana.post_form("phq-9", PARTIAL, action="continue")
    ben.post_form("phq-9", phq9_answers([0] * 9), action="continue")
    ana_sid = ana.fill_and_send("phq-9", phq9_answers([3] * 9))
    ben_sid = ben.fill_and_send("phq-9", phq9_answers([0] * 9))
    [ana_qr] = stored(e2e.sandbox, ana_sid)["QuestionnaireResponse"]
    [ben_qr] = stored(e2e.sandbox, ben_sid)["QuestionnaireResponse"]
    assert ana_qr["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert ben_qr["subject"] == {"reference": f"Patient/{OTHER_PATIENT}"}
    [ana_total] = stored(e2e.sandbox, ana_sid)["Observation"]
    [ben_total] = stored(e2e.sandbox, ben_sid)["Observation"]
    assert (ana_total["valueQuantity"]["value"], ben_total["valueQuantity"]["value"]) == (27, 0)
    assert ana_total["subject"] == ana_qr["subject"] and ben_total["subject"] == ben_qr["subject"]
    assert ben.get(f"submissions/{ana_sid}").status_code == 404  # another patient's receipt is not there


def test_caregiver_is_author_and_source_and_the_page_says_whose_form_it_is(e2e):
    browser = Browser(e2e.client, e2e.launcher.standalone(login=CAREGIVER))
    assert "You are answering for Eli Novak" in browser.open_form("phq-9").get_data(as_text=True)
    sid = browser.fill_and_send("phq-9", phq9_answers([0] * 9))
    found = stored(e2e.sandbox, sid)
    [qr] = found["QuestionnaireResponse"]
    assert qr["subject"] == {"reference": f"Patient/{CHILD}"}
    assert qr["author"] == qr["source"] == {"reference": CAREGIVER}
    [provenance] = found["Provenance"]
    assert {"reference": CAREGIVER} in [a["who"] for a in provenance["agent"]]


def test_read_only_launch_says_so_up_front_and_writes_nothing(e2e):
    writes = {"patient/Observation.c", "patient/QuestionnaireResponse.crus", "patient/Provenance.c",
              "patient/Flag.c", "patient/Task.rus"}
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{PATIENT}", exclude_scopes=writes))
    before = len(e2e.sandbox.resources("QuestionnaireResponse"))
    listing = browser.get("questionnaires/").get_data(as_text=True)
    assert "read-only access" in listing
    home = browser.get("").get_data(as_text=True)
    assert "read-only access" in home
    form = browser.open_form("phq-9").get_data(as_text=True)
    assert "read-only access" in form and "Send to my care team" not in form and 'value="submit"' not in form
    refused = browser.client.post(browser.url("questionnaires/phq-9"),
                                  data={**phq9_answers([1] * 9), "action": "submit", "csrf_token": csrf(form)})
    assert refused.status_code == 403
    assert len(e2e.sandbox.resources("QuestionnaireResponse")) == before


def test_first_render_prefills_height_from_a_recent_observation(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    html = browser.open_form("previsit-intake").get_data(as_text=True)
    heights = [o for o in e2e.sandbox.resources("Observation")
               if o.get("subject", {}).get("reference") == f"Patient/{PATIENT}"
               and any(c.get("code") == "8302-2" for c in o["code"]["coding"])]
    latest = max(heights, key=lambda o: o.get("effectiveDateTime", ""))
    assert f'value="{latest["valueQuantity"]["value"]}"' in html
    assert "From your record" in html


def test_answers_posted_when_the_launch_dies_are_back_after_relaunch(e2e):
    browser = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    page = browser.open_form("phq-9").get_data(as_text=True)
    launch_id = e2e.launcher.last_launch_id
    e2e.sandbox.set_fault("expire_token", launch_id=launch_id)
    e2e.sandbox.set_fault("revoke_refresh", launch_id=launch_id)
    died = browser.client.post(browser.url("questionnaires/phq-9"),
                               data={**PARTIAL, "action": "continue", "csrf_token": csrf(page)})
    assert died.status_code == 401 and "REFRESH_FAILED" in died.get_data(as_text=True)
    again = Browser(e2e.client, e2e.launcher.ehr(patient=PATIENT))
    html = again.open_form("phq-9").get_data(as_text=True)
    assert _checked(html, f"{LOINC}|{OPTIONS[2]}", "q.phq9-q1.0")
    assert _checked(html, f"{LOINC}|{OPTIONS[1]}", "q.phq9-q2.0")
    # Kept in the app by that page view; a GET never writes to the EHR: the next save mirrors them.
    assert [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"] == []
    assert again.client.post(again.url("questionnaires/phq-9"),
                             data={**PARTIAL, "action": "continue", "csrf_token": csrf(html)}).status_code == 200
    [draft] = [r for r in e2e.sandbox.resources("QuestionnaireResponse") if r["status"] == "in-progress"]
    assert [i["linkId"] for i in draft["item"][0]["item"]] == ["phq9-q1", "phq9-q2"]


def _form(version: str, items: list[dict]) -> dict:
    """A Questionnaire on the EHR, at this version."""
    return {"resourceType": "Questionnaire", "id": "ehr-checkin", "url": "http://ehr.example.org/Questionnaire/checkin",
            "version": version, "status": "active", "title": "Check-in", "item": items}


def test_a_draft_outlives_a_new_version_of_its_form_keeping_the_answers_the_new_version_still_asks(e2e):
    kept = {"linkId": "concern", "type": "string", "text": "What concerns you most?"}
    dropped = {"linkId": "pharmacy", "type": "string", "text": "Your pharmacy"}
    added = {"linkId": "travel", "type": "boolean", "text": "Have you travelled recently?"}
    e2e.sandbox.store.create(_form("1.0.0", [kept, dropped]))
    handle = e2e.launcher.ehr(patient=PATIENT, questionnaire="Questionnaire/ehr-checkin")
    browser = Browser(e2e.client, handle)
    saved = browser.post_form("ehr-checkin", {"q.concern.r": "Dizzy in the mornings", "q.pharmacy.r": "Main St"},
                              action="continue")
    assert saved.status_code == 200

    current = e2e.sandbox.store.read("Questionnaire", "ehr-checkin")
    e2e.sandbox.store.update({**_form("2.0.0", [kept, added]), "meta": current.get("meta", {})})
    html = browser.open_form("ehr-checkin").get_data(as_text=True)
    assert 'value="Dizzy in the mornings"' in html  # the answer the new version still asks for is back
    assert "Main St" not in html and "Have you travelled recently?" in html

    browser.fill_and_send("ehr-checkin", {"q.concern.r": "Dizzy in the mornings", "q.travel.r": "false"})
    [response] = [r for r in e2e.sandbox.resources("QuestionnaireResponse")
                  if r.get("questionnaire", "").startswith("http://ehr.example.org/Questionnaire/checkin")]
    assert response["status"] == "completed"  # the draft's EHR copy, completed in place: one response
    assert response["questionnaire"] == "http://ehr.example.org/Questionnaire/checkin|2.0.0"
    assert [i["linkId"] for i in response["item"]] == ["concern", "travel"]
