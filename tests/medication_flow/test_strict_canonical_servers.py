"""A sent medication review is found on a server that compares canonicals exactly.

The review is stored as `url|version`; such a server does not find it by the bare url. The app
asks for every known `url|version` plus the bare url, so the clinician sees the review and the
patient's home page says it is done, whichever version it was sent on.
"""
from __future__ import annotations

import pytest

from smart_app.medications import questionnaire_canonical
from tests.fixtures.fake_ehr import token_response
from tests.fixtures.strict_fhir import StrictResponseSearch, completed_response
from tests.medication_flow.test_home_status import tags

URL = questionnaire_canonical().partition("|")[0]
SCOPE = ("launch openid fhirUser patient/Patient.r patient/MedicationRequest.rs patient/MedicationStatement.rs "
         "patient/QuestionnaireResponse.rs")


def serve_review(fake_ehr, version: str) -> StrictResponseSearch:
    """A strict server holding one completed review of p1 on `version` (and an unrelated response)."""
    search = StrictResponseSearch(fake_ehr.base, [
        completed_response("other", "http://example.org/Questionnaire/other|1.0.0", "2026-11-30T10:00:00Z"),
        completed_response("review-1", f"{URL}|{version}", "2026-11-29T10:00:00Z"),
    ], page_cap=10)
    fake_ehr.serve_search("QuestionnaireResponse", search)
    return search


@pytest.mark.parametrize("version", ["1.1.0", "1.0.0"])
def test_the_clinician_sees_a_review_stored_with_its_version(client, launcher, fake_ehr, version):
    search = serve_review(fake_ehr, version)
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=SCOPE))
    launcher.serve_patient("p1")
    home = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert "has not sent a medication review yet" not in home
    assert "latest review matches the current list" in home
    page = client.get(f"/l/{handle}/medications/clinician").get_data(as_text=True)
    assert "has not sent a medication review yet" not in page
    asked = {dict(q).get("questionnaire") for q in search.queries}
    assert f"{URL}|1.1.0,{URL}|1.0.0,{URL}" in asked


@pytest.mark.parametrize("version", ["1.1.0", "1.0.0"])
def test_the_patient_home_says_done_for_a_review_the_ehr_holds(client, launcher, fake_ehr, version):
    serve_review(fake_ehr, version)
    # No id_token: not a clinician, so the home page shows the patient's own review task.
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=SCOPE), with_id_token=False)
    launcher.serve_patient("p1")
    home = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert tags(home)["Review your medicines"] == ("done", "Completed")


def test_the_patient_home_says_to_do_when_the_ehr_holds_no_review(client, launcher, fake_ehr):
    fake_ehr.serve_search("QuestionnaireResponse", StrictResponseSearch(fake_ehr.base, [
        completed_response("other", "http://example.org/Questionnaire/other|1.0.0", "2026-11-30T10:00:00Z")]))
    handle, _ = launcher.ehr_launch("p1", token=token_response(patient="p1", scope=SCOPE), with_id_token=False)
    launcher.serve_patient("p1")
    home = client.get(f"/l/{handle}/").get_data(as_text=True)
    assert tags(home)["Review your medicines"] == ("todo", "To do")
