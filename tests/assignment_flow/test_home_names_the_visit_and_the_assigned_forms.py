"""Portal launch: the home page names the visit and leads with what the care team asked for, in plain words."""
from __future__ import annotations

import json
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.fixtures.e2e import CAREGIVER, PATIENT
from tests.questionnaire_flow.flow import Browser

from .helpers import SAM, instant, long_day, panel, task


def test_the_visit_and_the_assigned_forms_come_first_with_who_asked_and_by_when(e2e):
    html = e2e.page(e2e.launcher.standalone(login=f"Patient/{SAM}")).get_data(as_text=True)
    start = instant(e2e.sandbox.store.read("Appointment", "appt-sam")["start"]).astimezone(timezone.utc)
    due = task(e2e.sandbox, "task-sam-throat")["restriction"]["period"]["end"]
    shown = panel(html)
    assert f"Your visit: {long_day(start.date())}, {start.hour:02d}:{start.minute:02d}, with Dr Samir Ortiz" in shown
    assert html.index('class="visit-panel"') < html.index('class="tasks"')  # the assigned forms lead the page
    for_visit, _, other = shown.partition("Also asked by your care team")
    assert "Sore throat follow-up" in for_visit  # its Task points at this visit's appointment
    assert f"Dr Samir Ortiz asked you to fill this in by {long_day(date.fromisoformat(due))}." in for_visit
    assert "How your mood has been" in other and "Overdue" in other  # the PHQ-9 Task's date has passed


def test_a_patient_never_reads_an_id_a_code_utc_or_an_iso_date(e2e):
    shown = panel(e2e.page(e2e.launcher.standalone(login=f"Patient/{SAM}")).get_data(as_text=True))
    text = " ".join(part.split(">", 1)[-1] for part in shown.split("<"))  # the visible words only
    for leak in ("task-sam", "Task", "UTC", "complete-questionnaire", "T14:00", "Questionnaire/", "2026-"):
        assert leak not in text, leak


def test_dates_follow_the_time_zone_the_browser_reports(e2e):
    handle = e2e.launcher.standalone(login=f"Patient/{SAM}")
    start = instant(e2e.sandbox.store.read("Appointment", "appt-sam")["start"])
    e2e.client.set_cookie("previsit_tz", "Pacific/Kiritimati")  # UTC+14: a 14:00 UTC visit is 04:00 the next day
    local = start.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert local.date() == (start + timedelta(days=1)).date()
    assert f"Your visit: {long_day(local.date())}, 04:00," in panel(e2e.page(handle).get_data(as_text=True))
    e2e.client.set_cookie("previsit_tz", "Not/AZone")  # nonsense falls back to the configured zone (UTC here)
    assert f"Your visit: {long_day(start.date())}, 14:00," in panel(e2e.page(handle).get_data(as_text=True))


def test_cancelled_and_other_patients_tasks_never_show_and_a_missing_form_is_shown_not_dropped(e2e, audit_log):
    shown = panel(e2e.page(e2e.launcher.standalone(login=f"Patient/{SAM}")).get_data(as_text=True))
    assert "How anxious you have felt" not in shown  # the GAD-7 Task was cancelled
    assert "Child asthma check" not in shown  # Eli's Task
    assert "Diet diary" in shown and "This form could not be opened; your care team has been told." in shown
    events = [json.loads(r.getMessage()) for r in audit_log.records if r.name == "smart_app.audit.events"]
    assert {"event": "assignment.questionnaire_missing", "task": "task-sam-retired"}.items() <= \
        next(e for e in events if e["event"] == "assignment.questionnaire_missing").items()


def test_a_proxy_sees_the_form_owned_by_them_for_the_child(e2e):
    shown = panel(e2e.page(e2e.launcher.standalone(login=CAREGIVER)).get_data(as_text=True))
    assert "Child asthma check" in shown and "Sore throat follow-up" not in shown


def test_without_an_appointment_or_tasks_the_page_says_nothing_false(e2e):
    for appointment in e2e.sandbox.resources("Appointment"):
        if appointment["id"] == "appt-ana":
            e2e.sandbox.store.update({**appointment, "status": "cancelled"})
    html = e2e.page(e2e.launcher.standalone(login=f"Patient/{PATIENT}")).get_data(as_text=True)
    assert "Your visit:" not in html and 'class="visit-panel"' not in html
    assert "Questionnaires to fill in" in html  # nothing assigned: the library is offered (the default)


def test_library_forms_are_offered_only_when_nothing_is_assigned_by_default(e2e):
    html = e2e.page(e2e.launcher.standalone(login=f"Patient/{SAM}")).get_data(as_text=True)
    assert "Questionnaires to fill in" not in html  # Sam has assigned forms
    browser = Browser(e2e.client, e2e.launcher.standalone(login=f"Patient/{SAM}"))
    listing = browser.get("questionnaires/").get_data(as_text=True)
    assert "Sore throat follow-up" in listing and "Pre-visit intake" not in listing
    assert browser.open_form("previsit-intake").status_code == 200  # a direct link still opens it


def test_a_spanish_reader_gets_the_visit_and_the_request_in_spanish(e2e):
    handle = e2e.launcher.standalone(login=f"Patient/{SAM}")
    e2e.client.set_cookie("previsit_lang", "es")
    shown = panel(e2e.page(handle).get_data(as_text=True))
    assert "Su consulta: " in shown and ", con Dr Samir Ortiz" in shown
    assert "Dr Samir Ortiz le pidió que complete esto a más tardar el " in shown
    assert "Atrasado" in shown and "Your visit" not in shown
