"""A patient with a long history of completed responses still sees the right status for every form.

150 completed responses: the newest 149 answer the intake, the oldest one the PHQ-9, none the
GAD-7. The history is read newest first within a bound; a form with no response among what was
read is looked up by its canonical, so the PHQ-9 stays "completed" and only the GAD-7 is due.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from smart_app.forms import catalog as questionnaire_catalog
from tests.fixtures.e2e import PATIENT
from tests.fixtures.fake_ehr import token_response
from tests.fixtures.strict_fhir import StrictResponseSearch, completed_response

FORMS = "http://smart-previsit.example.org/fhir/Questionnaire"
INTAKE = f"{FORMS}/previsit-intake|1.0.0"
PHQ9 = f"{FORMS}/phq-9|1.0.0"
ENTRY = re.compile(r'<li class="questionnaire-entry card status-([a-z-]+)">\s*<h2><a href="[^"]*/questionnaires/([^"/]+)"')
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def history(patient: str) -> list[dict]:
    """150 completed responses, oldest (the PHQ-9) first; one a day."""
    def at(day: int) -> str:
        return (START + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [completed_response("hist-phq9", PHQ9, at(0), patient)] + [
        completed_response(f"hist-intake-{n}", INTAKE, at(n), patient) for n in range(1, 150)]


def statuses(page: str) -> dict[str, str]:
    """{form key: status} from the questionnaire list page."""
    return {key: status for status, key in ENTRY.findall(page)}


@pytest.mark.parametrize("max_pages", [questionnaire_catalog.RESPONSE_MAX_PAGES, 1])
def test_a_patient_with_150_completed_responses_sees_the_right_statuses_on_the_sandbox(e2e, monkeypatch, max_pages):
    # The bound as shipped (the whole history is read) and a bound the history exceeds.
    monkeypatch.setattr(questionnaire_catalog, "RESPONSE_MAX_PAGES", max_pages)
    for resource in history(PATIENT):
        e2e.sandbox.store.create(resource, keep_meta=True)
    handle = e2e.launcher.ehr(patient=PATIENT)
    page = e2e.page(handle, "questionnaires/").get_data(as_text=True)
    found = statuses(page)
    assert found["phq-9"] == "completed"
    assert found["previsit-intake"] == "completed"
    assert found["gad-7"] == "due"
    assert "/questionnaires/phq-9/responses/hist-phq9" in page  # its latest is the oldest response
    assert "/questionnaires/previsit-intake/responses/hist-intake-149" in page  # newest first
    cut_short = "older ones may be on record" in page
    assert cut_short is (max_pages == 1)
    # An old response beyond what was read is still reachable by its link.
    old = e2e.page(handle, "questionnaires/previsit-intake/responses/hist-intake-2")
    assert old.status_code == 200


def test_a_patient_with_150_completed_responses_sees_the_right_statuses_on_a_strict_server_with_small_pages(
        client, launcher, fake_ehr):
    search = StrictResponseSearch(fake_ehr.base, history("p1"), page_cap=10)
    fake_ehr.serve_search("QuestionnaireResponse", search)
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1"))
    launcher.serve_patient("p1")
    page = client.get(f"/l/{handle}/questionnaires/").get_data(as_text=True)
    found = statuses(page)
    assert found == {"gad-7": "due", "phq-9": "completed", "previsit-intake": "completed"}
    assert "older ones may be on record" in page
    history_reads = [dict(q) for q in search.queries if "_offset" not in dict(q) and "questionnaire" not in dict(q)]
    assert history_reads and all(q["_sort"] == "-authored" and q["status"] == "completed" for q in history_reads)
    # The forms left without a response were asked for by canonical: url|version and the bare url.
    asked = sorted(dict(q)["questionnaire"] for q in search.queries if "questionnaire" in dict(q))
    assert asked == [f"{FORMS}/gad-7|1.0.0,{FORMS}/gad-7", f"{PHQ9},{FORMS}/phq-9"]
    # Within the documented bound: the history read stops at RESPONSE_MAX_PAGES pages.
    pages = [q for q in search.queries if "questionnaire" not in dict(q)]
    assert len(pages) == questionnaire_catalog.RESPONSE_MAX_PAGES
